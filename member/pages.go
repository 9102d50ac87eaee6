package member

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/cabinet"
)

//go:embed pages/*.html
var pageFS embed.FS

// pageData is what every page may show.
type pageData struct {
	Lang        string
	Path        string
	Refusal     *refusal
	Session     *f2fpay.MemberSession
	Member      *f2fpay.Member
	Terminal    *f2fpay.Terminal
	Sale        *f2fpay.Sale
	Order       *f2fpay.Order
	CSRF        string
	CodeSent    bool
	PhoneMasked string
	Message     string
	WalletURL   string
	Cabinet     *cabinetView
}

// texts are the pages' words, Chinese first: [zh, en].
var texts = map[string][2]string{
	"title":           {"会员支付", "Member payment"},
	"switch":          {"English", "中文"},
	"hello":           {"你好", "Hello"},
	"comma":           {"，", ", "},
	"colon":           {"：", ": "},
	"resendCode":      {"重新获取验证码", "Send a new code"},
	"linked":          {"已绑定手机", "Linked phone"},
	"toPay":           {"待支付", "To pay"},
	"payNow":          {"一键支付", "Pay with one tap"},
	"nothing":         {"这台售货机暂时没有待支付的订单。请先在机器上选好商品，然后刷新本页。", "This machine has nothing to pay right now. Choose your item on the machine, then reload this page."},
	"reload":          {"刷新", "Reload"},
	"phoneTitle":      {"绑定手机号", "Link your phone"},
	"phoneIntro":      {"首次使用：验证手机号后，下次扫码即可一键支付。", "First visit: verify your phone, and next time you pay with one tap."},
	"phone":           {"手机号", "Phone number"},
	"sendCode":        {"获取验证码", "Send code"},
	"codeSentTo":      {"验证码已发送至", "Code sent to"},
	"code":            {"6位验证码", "6-digit code"},
	"verify":          {"验证并绑定", "Verify and link"},
	"payTitle":        {"确认支付", "Confirm payment"},
	"openWallet":      {"在支付宝中付款", "Pay in Alipay"},
	"seeResult":       {"查看支付结果", "See the result"},
	"resultTitle":     {"支付结果", "Payment result"},
	"paid":            {"支付成功，请在机器上取货。", "Paid. Take your item from the machine."},
	"waiting":         {"等待支付确认…", "Waiting for the payment to be confirmed…"},
	"failed":          {"支付未完成。", "The payment did not go through."},
	"amount":          {"金额", "Amount"},
	"orderNo":         {"订单号", "Order number"},
	"notFound":        {"页面不存在。", "There is no such page."},
	"scanAgain":       {"请重新扫描售货机屏幕上的二维码。", "Scan the QR code on the machine's screen again."},
	"tryAgain":        {"请稍后再试；问题持续请联系运营方。", "Try again in a moment; if it keeps happening, contact the operator."},
	"noMachine":       {"找不到这台售货机，或它已停用。", "This machine is unknown or switched off."},
	"sessionGone":     {"会话已过期或不属于这台设备。", "Your session has expired or is not for this machine."},
	"badForm":         {"表单已失效。", "This form has expired."},
	"badState":        {"这个登录链接不是本浏览器发起的，或已被使用过。", "This sign-in link was not started in this browser, or was used already."},
	"declined":        {"你没有同意授权。", "You did not allow the sign-in."},
	"declinedDo":      {"要一键支付，请重新扫码并同意授权；也可以直接用支付宝扫描机器上的付款码。", "To pay with one tap, scan again and allow; or pay by scanning the payment QR on the machine with Alipay."},
	"codeRefused":     {"支付宝没有接受这次授权（授权码已使用或已过期）。", "Alipay did not accept this sign-in (the code was used or has expired)."},
	"otherAccount":    {"授权的支付宝账号与刚才的不同。", "A different Alipay account answered than the one that started."},
	"notLinking":      {"现在没有待验证的手机号。", "There is no phone number waiting to be verified."},
	"badPhone":        {"请输入11位中国大陆手机号，例如 138 0013 8000。", "Enter an 11-digit mainland China mobile number, such as 138 0013 8000."},
	"waitResend":      {"验证码刚刚发出，请一分钟后再重新获取。", "A code was just sent; wait a minute before asking for another."},
	"tooManySends":    {"验证码发送次数过多。", "Too many codes were sent."},
	"tooManySendsDo":  {"请一小时后再试，或直接用支付宝扫描机器上的付款码付款。", "Try again in an hour, or pay by scanning the payment QR on the machine with Alipay."},
	"smsFailed":       {"短信发送失败。", "The text message could not be sent."},
	"noCode":          {"请先获取验证码。", "Ask for a code first."},
	"codeExpired":     {"验证码已过期（5分钟有效），请重新获取。", "The code has expired (it lasts 5 minutes); ask for a new one."},
	"wrongCode":       {"验证码不正确，请重新输入。", "That code is wrong; enter it again."},
	"tooManyAttempts": {"错误次数过多，这个验证码已失效，请重新获取。", "Too many wrong codes: this code no longer works; ask for a new one."},
	"phoneTaken":      {"这个手机号已绑定了另一个支付宝账号。", "This phone number is linked to another Alipay account."},
	"phoneTakenDo":    {"请用那个支付宝账号扫码，或请运营方解除原来的绑定。", "Scan with that Alipay account, or ask the operator to unlink the old one."},
	"raced":           {"账号刚被另一个页面绑定。", "The account was just linked from another page."},
	"noSale":          {"这笔订单已不能支付（已被支付、取消或过期）。", "This sale can no longer be paid (paid, cancelled or expired)."},
	"noSaleDo":        {"请在机器上重新选择商品，然后刷新本页。", "Choose your item on the machine again, then reload this page."},
	"payFailed":       {"支付宝没有创建这笔交易。", "Alipay did not create the trade."},
	"payFailedDo":     {"请稍后重试，或用支付宝扫描机器上的付款码付款。", "Try again in a moment, or pay by scanning the payment QR on the machine."},
	"unavailable":     {"支付宝暂时没有响应。", "Alipay is not answering right now."},
	"internal":        {"出错了。", "Something went wrong."},
	"pageTitle":       {"出错了", "Cannot continue"},
}

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"refusal", "sale", "phone", "pay", "result", "cabinet", "cabinet_sign"} {
		out[name] = template.Must(template.New("layout.html").Funcs(template.FuncMap{
			"t":     func(lang, key string) string { return text(lang, key) },
			"yuan":  func(a f2fpay.Amount) string { return a.String() },
			"state": func(s f2fpay.OrderState) string { return string(s) },
			"debtWhy": func(lang, failCode string) string {
				zh, en := cabinet.DebtReason(failCode)
				if lang == "en" {
					return en
				}
				return zh
			},
			"refusal": func(lang string, r *cabinet.Refusal) string {
				if r == nil {
					return ""
				}
				return refusalText(lang, r)
			},
		}).ParseFS(pageFS, "pages/layout.html", "pages/"+name+".html"))
	}
	return out
}()

func text(lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return t[1]
	}
	return t[0]
}

// lang picks the page's language: ?lang= (which a cookie remembers), the cookie,
// then Accept-Language; Chinese by default.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "zh" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: "f2fpay_lang", Value: l, Path: "/m/", SameSite: http.SameSiteLaxMode, MaxAge: 365 * 86400})
		return l
	}
	if c, err := r.Cookie("f2fpay_lang"); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		p := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(p, "zh"):
			return "zh"
		case strings.HasPrefix(p, "en"):
			return "en"
		}
	}
	return "zh"
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.Lang = lang(w, r)
	d.Path = r.URL.Path
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src https: data:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := pages[name].Execute(w, d); err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "member page", "page", name, "err", fmt.Sprint(err))
	}
}
