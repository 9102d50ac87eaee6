package httpapi

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// lang is the language of what a terminal's cashier reads: the message of a payment
// and the messages of the common errors. English unless the terminal asks for
// Chinese with Accept-Language (zh, zh-CN, zh-Hans, …); the demo's commands and
// cashier send zh-CN. Amounts, states, codes and field names are never translated.
type lang int

const (
	langEN lang = iota
	langZH
)

// requestLang reads Accept-Language: the most preferred of Chinese and English (by
// q-value, then order); English when the header names neither.
func requestLang(r *http.Request) lang {
	type pref struct {
		l lang
		q float64
		i int
	}
	var prefs []pref
	for i, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		var l lang
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			l = langZH
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			l = langEN
		default:
			continue
		}
		if q > 0 {
			prefs = append(prefs, pref{l, q, i})
		}
	}
	if len(prefs) == 0 {
		return langEN
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	return prefs[0].l
}

// stateMessage is what a cashier's screen can show for a state.
func stateMessage(o *f2fpay.Order, l lang) string {
	zh := l == langZH
	pick := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	switch o.State {
	case f2fpay.OrderPaying:
		return pick("payment sent to Alipay; waiting for its answer", "已提交支付宝，等待结果")
	case f2fpay.OrderWaiting:
		return pick("waiting for the buyer to confirm the payment in the Alipay app (password)", "等待顾客在支付宝中确认付款（输入密码）")
	case f2fpay.OrderUnknown:
		return pick("Alipay's answer is not known yet; checking — do not charge again, ask for the status", "支付结果未知，正在查询——请勿重复收款，稍后查询状态")
	case f2fpay.OrderPending:
		return pick("waiting for the buyer to pay", "等待顾客付款")
	case f2fpay.OrderCancelling:
		return pick("cancelling the payment at Alipay; the buyer will not be charged", "正在撤销交易，顾客不会被扣款")
	case f2fpay.OrderPaid:
		if o.RefundedAmount > 0 {
			return pick(fmt.Sprintf("paid; %s refunded", o.RefundedAmount), fmt.Sprintf("支付成功；已退款 %s 元", o.RefundedAmount))
		}
		return pick("paid", "支付成功")
	case f2fpay.OrderFailed:
		if o.FailReason != "" {
			return pick("payment failed: "+o.FailReason, "支付失败："+o.FailReason)
		}
		return pick("payment failed", "支付失败")
	case f2fpay.OrderCancelled:
		if o.CancelAction == "refund" {
			return pick("cancelled; the buyer's money was refunded", "已撤销，款项已退回顾客")
		}
		return pick("cancelled; the buyer was not charged", "已撤销，顾客未被扣款")
	case f2fpay.OrderClosed:
		return pick("closed unpaid", "未付款，交易已关闭")
	}
	return string(o.State)
}

// zhError is the Chinese form of one English error message of the terminal API: the
// English message matched whole by re, the Chinese made by format from its groups.
type zhError struct {
	re     *regexp.Regexp
	format string
}

// zhErrors are the errors a cashier meets at the till. A test produces each through
// the API, so a changed English message that no longer matches fails it.
var zhErrors = []zhError{
	{regexp.MustCompile(`^amount is required: .*$`), "请输入金额（元，最多两位小数，如 88.88）"},
	{regexp.MustCompile(`^amount: .*$`), "金额无效：须为 0.01 至 100000000.00 元，最多两位小数"},
	{regexp.MustCompile(`^auth_code is required: the digits of the buyer's payment code as scanned$`), "请扫描顾客的付款码"},
	{regexp.MustCompile(`^auth_code is not an Alipay payment code .*$`), "付款码无效，请重新扫描顾客支付宝中的付款码"},
	{regexp.MustCompile(`^subject is required.*$`), "请填写商品名称（subject）"},
	{regexp.MustCompile(`^no payment "(.*)" for this terminal$`), "本终端没有订单 %s"},
	{regexp.MustCompile(`^order (\S+) is paid; refund it instead of (cancelling|closing)$`), "订单 %s 已支付，请退款"},
	{regexp.MustCompile(`^order (\S+) is (\S+); only paid orders can be refunded$`), "订单 %s 状态为 %s，只有已支付的订单可以退款"},
	{regexp.MustCompile(`^a refund of (\S+) exceeds what is left to refund on order (\S+): (\S+) \(.*$`), "退款 %s 元超过订单 %s 的可退金额 %s 元"},
	{regexp.MustCompile(`^refund_id "(.*)" was already used for a refund of (\S+); .*$`), "退款单号 %s 已用于一笔 %s 元的退款，金额不同请使用新的退款单号"},
	{regexp.MustCompile(`^order (\S+) has no refund with refund_id "(.*)"$`), "订单 %s 没有退款单号为 %s 的退款"},
	{regexp.MustCompile(`^Alipay did not answer.*$`), "支付宝未及时响应，请重新下单"},
	{regexp.MustCompile(`^out_trade_no "(.*)" is already used; retry the request$`), "订单号 %s 已被使用"},
	{regexp.MustCompile(`^out_trade_no "(.*)" is already used by an earlier payment; .*$`), "订单号 %s 已被之前的一笔支付使用：请先查询那笔支付的状态，切勿重复收款；新的支付请使用新的订单号"},
	{regexp.MustCompile(`^a request with this Idempotency-Key is still in progress for payment (\S+); .*$`), "支付 %s 仍在处理中，切勿重复收款：请稍后用相同的 Idempotency-Key 和请求重试，或查询该支付的状态"},
	{regexp.MustCompile(`^Idempotency-Key "(.*)" was already used for a different request.*$`), "Idempotency-Key %s 已用于另一笔请求：新的操作请使用新的 Idempotency-Key，重试请原样重发原请求"},
	// Vend orders (vends.go, package vend).
	{regexp.MustCompile(`^slot "(.*)" is not in the machine's planogram$`), "货道 %s 不在本机的货道表中"},
	{regexp.MustCompile(`^slot (\S+) costs (\S+), not (\S+); refresh the prices on the screen$`), "货道 %s 的价格是 %s 元，不是 %s 元，请刷新屏幕上的价格"},
	{regexp.MustCompile(`^slot (\S+) has (\d+) left, fewer than the (\d+) asked for$`), "货道 %s 仅剩 %s 件，少于所需的 %s 件"},
	{regexp.MustCompile(`^slot (\S+): quantity (-?\d+) must be at least 1$`), "货道 %s：数量 %s 不能小于 1"},
	{regexp.MustCompile(`^a vend has at most (\d+) items$`), "一笔售卖订单最多 %s 件商品"},
	{regexp.MustCompile(`^a vend needs at least one item$`), "售卖订单至少需要一件商品"},
	{regexp.MustCompile(`^machine (\S+) has no planogram; .*$`), "售货机 %s 尚未配置货道，请运营方先设置货道"},
	{regexp.MustCompile(`^machine (\S+) is an open-door cabinet; .*$`), "售货机 %s 是开门柜，关门时扣款，不使用售卖订单"},
	{regexp.MustCompile(`^terminal (\S+) is a cashier terminal; .*$`), "终端 %s 是收银终端，只有售货机可以创建售卖订单"},
	{regexp.MustCompile(`^vend (\d+) is not paid; nothing may be dispensed$`), "售卖订单 %s 尚未付款，不可出货"},
	{regexp.MustCompile(`^vend (\d+) was cancelled unpaid; nothing may be dispensed$`), "售卖订单 %s 未付款已取消，不可出货"},
	{regexp.MustCompile(`^vend (\d+) is paid \((\S+)\); .*$`), "售卖订单 %s 已付款，只能出货或退款，不能取消"},
	{regexp.MustCompile(`^vend (\d+) has no payment .*$`), "售卖订单 %s 没有支付（首次请求被中断），请重新下单"},
	{regexp.MustCompile(`^vend order (\d+) not found$`), "未找到售卖订单 %s"},
	{regexp.MustCompile(`^vend (\d+) has no item (\d+) .*$`), "售卖订单 %s 没有第 %s 件商品"},
	{regexp.MustCompile(`^outcome "(.*)" must be "delivered" or "failed"$`), "出货结果 %s 无效，应为 delivered 或 failed"},
	{regexp.MustCompile(`^machine (\S+) has no face camera; pay by QR$`), "售货机 %s 没有刷脸摄像头，请扫码付款"},
	{regexp.MustCompile(`^this machine has no face camera; pay by QR$`), "本机没有刷脸摄像头，请扫码付款"},
	{regexp.MustCompile(`^vend (\d+): the face payment is being (made|cancelled with Alipay); ask again in a moment$`), "售卖订单 %s 的刷脸支付正在处理，请稍后再试，切勿重复付款"},
	{regexp.MustCompile(`^vend (\d+) is paid by QR \(it fell back from the face\); show its QR code$`), "售卖订单 %s 已改为扫码支付，请展示二维码"},
}

// zhByCode prefixes an error this table does not know, so the cashier still reads
// what kind of problem it is; the English detail follows.
var zhByCode = map[string]string{
	f2fpay.EINVALID:        "请求无效",
	f2fpay.ENOTFOUND:       "未找到",
	f2fpay.ECONFLICT:       "与当前状态冲突",
	f2fpay.EUNAVAILABLE:    "服务暂不可用，请稍后重试",
	f2fpay.EUNAUTHORIZED:   "终端未授权",
	f2fpay.ENOTIMPLEMENTED: "不支持的操作",
}

// zhMessage translates msg, an error of the given code.
func zhMessage(code, msg string) string {
	for _, z := range zhErrors {
		if m := z.re.FindStringSubmatch(msg); m != nil {
			args := make([]any, 0, len(m)-1)
			for _, g := range m[1:] {
				args = append(args, g)
			}
			return fmt.Sprintf(z.format, args[:strings.Count(z.format, "%s")]...)
		}
	}
	if p, ok := zhByCode[code]; ok {
		return p + "：" + msg
	}
	return msg
}
