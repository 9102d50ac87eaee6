package alipaysim

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"
)

// Payment codes are drawn as the Alipay app draws them: a Code 128 barcode above a QR
// code, both carrying the 18 digits. Modules are scaled by whole pixels and surrounded
// by a white quiet zone, so a real phone or handheld scanner can read the screen (a
// fractional scale blurs bar widths, and a barcode without its quiet zone does not scan).

// barcodePNG renders content as Code 128, each module scale pixels wide, height pixels tall.
func barcodePNG(content string, scale, height int) ([]byte, error) {
	bc, err := code128.Encode(content)
	if err != nil {
		return nil, err
	}
	return modulesPNG(bc, scale, scale, height, 10*scale, 0)
}

// qrPNG renders content as a QR code (error correction M), each module scale pixels.
func qrPNG(content string, scale int) ([]byte, error) {
	bc, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	return modulesPNG(bc, scale, scale, 0, 4*scale, 4*scale)
}

// modulesPNG draws bc with each module sx×sy pixels (a 1-D code is stretched to height
// when height > 0) inside a white margin of mx, my pixels.
func modulesPNG(bc barcode.Barcode, sx, sy, height, mx, my int) ([]byte, error) {
	b := bc.Bounds()
	w, h := b.Dx()*sx, b.Dy()*sy
	if height > 0 {
		h = height
	}
	img := image.NewGray(image.Rect(0, 0, w+2*mx, h+2*my))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < h; y++ {
		my0 := b.Min.Y
		if height <= 0 {
			my0 += y / sy
		}
		for x := 0; x < w; x++ {
			if c := color.GrayModel.Convert(bc.At(b.Min.X+x/sx, my0)).(color.Gray); c.Y < 0x80 {
				img.SetGray(mx+x, my+y, color.Gray{})
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pngDataURL makes an <img src> of a PNG; typed as a URL so html/template keeps it.
func pngDataURL(p []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p))
}

// codeImages holds both renderings of a payment code.
type codeImages struct {
	Barcode template.URL `json:"barcode"`
	QR      template.URL `json:"qr"`
}

func renderCode(code string) (codeImages, error) {
	bar, err := barcodePNG(code, 3, 110)
	if err != nil {
		return codeImages{}, err
	}
	q, err := qrPNG(code, 8)
	if err != nil {
		return codeImages{}, err
	}
	return codeImages{Barcode: pngDataURL(bar), QR: pngDataURL(q)}, nil
}
