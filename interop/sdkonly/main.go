// Command sdkonly asks Alipay for a QR code to pay one amount, using the f2fpay SDK and
// nothing else from the f2fpay repository: it is the proof that package alipay stands
// alone (no merchant domain, no database drivers, no metrics).
//
//	APP_ID=2021000122671080 APP_PRIVATE_KEY=... ALIPAY_PUBLIC_KEY=... \
//	ALIPAY_GATEWAY=http://127.0.0.1:8090/gateway.do go run . 88.88
//
// Without ALIPAY_GATEWAY it talks to Alipay's production gateway.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: sdkonly AMOUNT (yuan, e.g. 88.88)")
	}
	amount, err := money.Parse(os.Args[1])
	if err != nil {
		log.Fatal(err) // says what to write instead, e.g. at most two decimals
	}
	client, err := alipay.New(alipay.Config{
		AppID:           os.Getenv("APP_ID"),
		PrivateKey:      os.Getenv("APP_PRIVATE_KEY"),
		AlipayPublicKey: os.Getenv("ALIPAY_PUBLIC_KEY"),
		Gateway:         os.Getenv("ALIPAY_GATEWAY"), // "" is Alipay's production gateway
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := client.TradePrecreate(ctx, &alipay.TradePrecreateRequest{
		OutTradeNo:  fmt.Sprintf("sdkonly-%d", time.Now().UnixNano()),
		TotalAmount: amount,
		Subject:     "f2fpay SDK example",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: scan %s to pay %s yuan\n", res.OutTradeNo, res.QRCode, amount)
}
