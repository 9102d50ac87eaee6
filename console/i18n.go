package console

import (
	"net/http"
	"strings"
)

// lang is a language of the console: "zh" (简体中文) or "en".
type lang string

const (
	langZH lang = "zh"
	langEN lang = "en"
)

const langCookie = "f2fpay_lang"

// requestLang is the language chosen with the switch (a cookie), else the browser's
// first preference between Chinese and English, else Chinese.
func requestLang(r *http.Request) lang {
	if c, err := r.Cookie(langCookie); err == nil {
		switch lang(c.Value) {
		case langZH, langEN:
			return lang(c.Value)
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return langZH
		case strings.HasPrefix(tag, "en"):
			return langEN
		}
	}
	return langZH
}

// htmlLang is the lang attribute of the page.
func (l lang) htmlLang() string {
	if l == langEN {
		return "en"
	}
	return "zh-CN"
}

// t translates a message key; an unknown key shows as itself, which a test catches.
func (l lang) t(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if l == langEN {
		return m[1]
	}
	return m[0]
}

// messages holds each text of the console in Chinese and English.
var messages = map[string][2]string{
	"console":                    {"f2fpay 当面付运营后台", "f2fpay console"},
	"skip":                       {"跳到正文", "Skip to content"},
	"nav":                        {"主导航", "Main navigation"},
	"overview":                   {"概览", "Overview"},
	"orders":                     {"订单", "Orders"},
	"audit":                      {"操作日志", "Audit log"},
	"logout":                     {"退出", "Log out"},
	"login":                      {"登录", "Log in"},
	"login.title":                {"员工登录", "Staff login"},
	"login.name":                 {"账号", "Login"},
	"password":                   {"密码", "Password"},
	"login.failed":               {"账号或密码不正确。", "Wrong login or password."},
	"login.locked":               {"失败次数过多，账号已锁定，请稍后再试。", "Too many failures: the account is locked for a while. Try again later."},
	"language":                   {"语言", "Language"},
	"api.docs":                   {"接口文档", "API documentation"},
	"links":                      {"链接", "Links"},
	"signed.in.as":               {"当前用户", "Signed in as"},
	"role.owner":                 {"所有者", "owner"},
	"role.finance":               {"财务", "finance"},
	"role.support":               {"客服", "support"},
	"role.readonly":              {"只读", "read-only"},
	"all.merchants":              {"全部商户", "all merchants"},
	"merchant":                   {"商户", "Merchant"},
	"today":                      {"今天", "Today"},
	"period":                     {"所选时段", "Chosen period"},
	"from":                       {"开始日期", "From"},
	"to":                         {"结束日期", "To (inclusive)"},
	"show":                       {"查看", "Show"},
	"volume":                     {"成交金额", "Volume"},
	"count":                      {"订单数", "Orders"},
	"paid.count":                 {"成功笔数", "Paid"},
	"success.rate":               {"成功率", "Success rate"},
	"refunds":                    {"退款", "Refunds"},
	"latency":                    {"支付耗时", "Payment latency"},
	"latency.note":               {"网关调用 alipay.trade.pay / precreate / create", "gateway calls alipay.trade.pay / precreate / create"},
	"calls":                      {"次调用", "calls"},
	"by.store":                   {"按门店与终端", "By store and terminal"},
	"store":                      {"门店", "Store"},
	"terminal":                   {"终端", "Terminal"},
	"chart.title":                {"每日成交", "Volume by day"},
	"chart.hint":                 {"图表数据见下表。", "The chart's data is in the table below."},
	"day":                        {"日期", "Day"},
	"none":                       {"无", "none"},
	"no.orders":                  {"没有符合条件的订单。", "No orders match."},
	"search":                     {"搜索", "Search"},
	"state":                      {"状态", "State"},
	"any":                        {"全部", "any"},
	"min.amount":                 {"最低金额（元）", "Min amount (yuan)"},
	"max.amount":                 {"最高金额（元）", "Max amount (yuan)"},
	"out_trade_no":               {"商户订单号", "out_trade_no"},
	"trade_no":                   {"支付宝交易号", "trade_no"},
	"buyer":                      {"买家账号", "Buyer"},
	"amount":                     {"金额", "Amount"},
	"created":                    {"创建时间", "Created"},
	"subject":                    {"商品", "Subject"},
	"next.page":                  {"下一页", "Next page"},
	"first.page":                 {"第一页", "First page"},
	"order":                      {"订单", "Order"},
	"details":                    {"详情", "Details"},
	"refunded":                   {"已退款", "Refunded"},
	"paid.at":                    {"支付时间", "Paid at"},
	"kind":                       {"支付方式", "Kind"},
	"timeline":                   {"时间线", "Timeline"},
	"gateway.calls":              {"网关调用", "Gateway calls"},
	"method":                     {"接口", "Method"},
	"code":                       {"返回码", "Code"},
	"sub_code":                   {"子码", "Sub code"},
	"outcome":                    {"结果", "Outcome"},
	"at":                         {"时间", "At"},
	"message":                    {"说明", "Message"},
	"webhooks":                   {"回调通知（Webhook）", "Webhook events"},
	"event":                      {"事件", "Event"},
	"delivered":                  {"已送达", "Delivered"},
	"attempts":                   {"尝试次数", "Attempts"},
	"refund":                     {"退款", "Refund"},
	"refund.amount":              {"退款金额（元）", "Refund amount (yuan)"},
	"refund.reason":              {"退款原因", "Reason"},
	"refund.submit":              {"确认退款", "Refund"},
	"refund.done":                {"退款已提交，结果：", "Refund submitted; outcome:"},
	"refund.not.paid":            {"只有已支付的订单可以退款。", "Only paid orders can be refunded."},
	"refund.no.role":             {"你的角色不能退款。", "Your role cannot refund."},
	"refundable":                 {"可退金额", "Refundable"},
	"who":                        {"操作人", "Who"},
	"what":                       {"操作", "What"},
	"target":                     {"对象", "Target"},
	"where":                      {"来源 IP", "From"},
	"audit.note":                 {"操作日志只能追加，任何人都不能修改或删除。", "The audit log is append-only: nobody can edit or delete an entry."},
	"error":                      {"出错了", "Something went wrong"},
	"forbidden":                  {"你的角色不能执行此操作。", "Your role may not do this."},
	"not.found":                  {"没有找到。", "Not found."},
	"csrf":                       {"表单已过期或来源不明，请刷新页面后重试。", "The form expired or did not come from this console; reload the page and try again."},
	"back":                       {"返回", "Back"},
	"to.orders":                  {"返回订单列表", "Back to orders"},
	"menu":                       {"菜单", "Menu"},
	"state.PAID":                 {"已支付", "Paid"},
	"state.FAILED":               {"失败", "Failed"},
	"state.CANCELLED":            {"已撤销", "Cancelled"},
	"state.CLOSED":               {"已关闭", "Closed"},
	"state.PAYING":               {"支付中", "Paying"},
	"state.WAITING":              {"等待买家确认", "Waiting"},
	"state.UNKNOWN":              {"结果未知", "Unknown"},
	"state.PENDING":              {"待支付", "Pending"},
	"state.CANCELLING":           {"撤销中", "Cancelling"},
	"rstate.SUCCEEDED":           {"退款成功", "Succeeded"},
	"rstate.FAILED":              {"退款失败", "Failed"},
	"rstate.PENDING":             {"处理中", "Pending"},
	"rstate.UNKNOWN":             {"结果未知", "Unknown"},
	"action.login":               {"登录", "login"},
	"action.login_failed":        {"登录失败", "login failed"},
	"action.locked":              {"账号锁定", "account locked"},
	"action.logout":              {"退出", "logout"},
	"action.refund":              {"退款", "refund"},
	"action.create_user":         {"创建员工", "staff created"},
	"action.refund_refused":      {"退款被拒", "refund refused"},
	"approvals":                  {"退款审批", "Refund approvals"},
	"approvals.note":             {"超过商户审批额度的退款需要另一位财务或所有者批准后才会发给支付宝。", "Refunds above the merchant's threshold go to Alipay only once another finance or owner staff member approves them."},
	"no.approvals":               {"没有待审批的退款。", "No refunds await approval."},
	"asked.by":                   {"申请人", "Asked by"},
	"decision":                   {"审批", "Decision"},
	"approve":                    {"批准", "Approve"},
	"reject":                     {"拒绝", "Reject"},
	"approval.pending":           {"待审批", "Awaiting approval"},
	"approval.approved":          {"已批准", "Approved"},
	"approval.rejected":          {"已拒绝", "Rejected"},
	"approval.not.self":          {"需由另一位员工审批", "another staff member must decide"},
	"approval.asked":             {"退款金额超过审批额度，已提交审批，批准后才会退款。", "The refund is above the approval threshold: it waits for another staff member's approval."},
	"approval.threshold":         {"超过此金额的退款需要另一人审批：", "Refunds above this amount need a second person's approval:"},
	"staff":                      {"员工", "Staff"},
	"staff.create":               {"新建员工", "New staff member"},
	"staff.name":                 {"姓名", "Name"},
	"role":                       {"角色", "Role"},
	"staff.merchant":             {"商户 ID（0 表示全部商户）", "Merchant id (0: every merchant)"},
	"staff.created":              {"已创建员工，初始密码只显示这一次：", "Staff member created. The password is shown this once:"},
	"disabled":                   {"已停用", "Disabled"},
	"create":                     {"创建", "Create"},
	"action.refund_requested":    {"申请退款审批", "refund approval asked"},
	"action.refund_approved":     {"批准退款", "refund approved"},
	"action.refund_rejected":     {"拒绝退款", "refund rejected"},
	"action.csrf_refused":        {"CSRF 拒绝", "CSRF refused"},
	"action.create_user_refused": {"创建员工被拒", "staff creation refused"},
	"tl.created":                 {"创建订单", "Order created"},
	"tl.paid":                    {"支付成功", "Paid"},
	"tl.notify":                  {"支付宝异步通知", "Alipay notification"},
	"tl.refund":                  {"发起退款", "Refund asked"},
	"tl.refunded":                {"退款完成", "Refunded"},
	"tl.approval":                {"退款待审批", "Refund awaiting approval"},
	"tl.webhook":                 {"Webhook 事件", "Webhook event"},
	"tl.delivered":               {"Webhook 已送达", "Webhook delivered"},
	"tl.dead":                    {"Webhook 放弃投递", "Webhook given up"},
	"next.attempt":               {"下次尝试", "Next attempt"},
	"wh.dead":                    {"已放弃", "given up"},
	"export.csv":                 {"导出 CSV（全部符合条件的订单）", "Export CSV (every matching order)"},
	"action.export":              {"导出订单", "orders exported"},
	"merchants":                  {"商户与终端", "Merchants"},
	"merchant.create":            {"新建商户", "New merchant"},
	"manage.no.admin":            {"服务未配置管理令牌（-admin-token），只能查看，不能修改。", "The service runs without an admin token (-admin-token): these pages show, but change nothing."},
	"webhook.url":                {"Webhook 地址", "Webhook URL"},
	"approval.above":             {"退款审批额度（元）", "Refund approval threshold (yuan)"},
	"approval.above.note":        {"超过此金额的控制台退款需另一人批准；留空表示不需要审批。", "Console refunds above this amount need a second person's approval; empty: none do."},
	"see.all":                    {"所有终端可查看和退款本商户全部订单", "Every terminal sees and refunds all of the merchant's orders"},
	"settings":                   {"设置", "Settings"},
	"save":                       {"保存", "Save"},
	"saved":                      {"已保存。", "Saved."},
	"apps":                       {"支付宝应用", "Alipay apps"},
	"app.create":                 {"添加支付宝应用", "Add an Alipay app"},
	"app.created":                {"已添加应用", "App added:"},
	"key.mode":                   {"接口加签方式", "Key mode"},
	"private.key":                {"应用私钥", "App private key"},
	"key.set":                    {"已设置（不显示）", "set (never shown)"},
	"version":                    {"版本", "Version"},
	"keys.upload":                {"上传密钥或证书", "Upload keys or certificates"},
	"keys.check":                 {"密钥诊断（f2fpay keys check）", "Key diagnosis (f2fpay keys check)"},
	"keys.check.save":            {"诊断并保存", "Check and save"},
	"keys.problem":               {"有问题", "problem"},
	"keys.failed":                {"密钥诊断发现问题，未保存。请看下面的说明。", "The key diagnosis found a problem; nothing was saved. See the explanation below."},
	"keys.none":                  {"没有上传任何密钥或证书。", "No key or certificate was uploaded."},
	"keys.updated":               {"应用已更新：", "App updated:"},
	"alipay.public.key":          {"支付宝公钥", "Alipay public key"},
	"certs":                      {"证书（公钥证书模式）", "Certificates (cert mode)"},
	"file":                       {"文件", "File"},
	"or.paste":                   {"或粘贴", "or paste"},
	"gateway":                    {"网关", "Gateway"},
	"stores":                     {"门店", "Stores"},
	"store.create":               {"添加门店", "Add store"},
	"store.created":              {"已添加门店", "Store added:"},
	"code.col":                   {"编号", "Code"},
	"terminals":                  {"终端", "Terminals"},
	"terminal.create":            {"添加终端", "Add terminal"},
	"terminal.created":           {"已添加终端", "Terminal added:"},
	"terminal.disable":           {"已停用终端", "Terminal disabled:"},
	"terminal.enable":            {"已启用终端", "Terminal enabled:"},
	"terminal.rotate-key":        {"已更换终端密钥", "Terminal key rotated:"},
	"kind.terminal":              {"类型", "Kind"},
	"enabled":                    {"启用", "Enabled"},
	"enable":                     {"启用", "Enable"},
	"disable":                    {"停用", "Disable"},
	"rotate":                     {"更换密钥", "Rotate key"},
	"actions":                    {"操作", "Actions"},
	"key.once":                   {"新密钥（只显示这一次）", "New key (shown this once)"},
	"key.once.note":              {"请现在把密钥配置到终端；离开本页后无法再次查看，丢失只能再次更换。", "Configure it on the terminal now: it cannot be shown again; a lost key can only be rotated."},
	"action.manage_refused":      {"管理操作被拒", "management refused"},
	"action.merchant_created":    {"新建商户", "merchant created"},
	"action.merchant_updated":    {"修改商户", "merchant changed"},
	"action.app_created":         {"添加应用", "app added"},
	"action.app_keys_updated":    {"更新应用密钥", "app keys changed"},
	"action.store_created":       {"添加门店", "store added"},
	"action.terminal_created":    {"添加终端", "terminal added"},
	"action.terminal_disable":    {"停用终端", "terminal disabled"},
	"action.terminal_enable":     {"启用终端", "terminal enabled"},
	"action.terminal_rotate_key": {"更换终端密钥", "terminal key rotated"},
	"webhooks.nav":               {"Webhook 投递", "Webhooks"},
	"replayed":                   {"已重新排队的事件数：", "Events queued again:"},
	"wh.days":                    {"最近天数", "Last days"},
	"wh.undelivered":             {"只看未送达", "Undelivered only"},
	"wh.waiting":                 {"等待投递", "waiting"},
	"wh.replay":                  {"重发", "Replay"},
	"wh.replay.all":              {"重发列表中的事件", "Replay the events listed"},
	"wh.replay.note":             {"重发会把事件再次发送到商户的 Webhook 地址；商户按事件 ID 去重。", "A replay sends the events to the merchant's webhook URL again; the merchant deduplicates on the event id."},
	"recon":                      {"对账", "Reconciliation"},
	"recon.note":                 {"每个应用每天一份对账报告：支付宝账单与本地订单、退款逐笔核对。", "One report per app and day: Alipay's bill checked against our orders and refunds, line by line."},
	"recon.bill":                 {"账单笔数", "Bill rows"},
	"recon.bill.amount":          {"账单金额", "Bill amount"},
	"recon.local.amount":         {"本地金额", "Our amount"},
	"recon.run":                  {"运行", "Run"},
	"recon.summary":              {"汇总", "Summary"},
	"recon.entries":              {"差异明细", "Differences"},
	"recon.class":                {"类别", "Class"},
	"action.webhooks_replayed":   {"重发 Webhook", "webhooks replayed"},
	"action.replay_refused":      {"重发被拒", "replay refused"},
	"link.title":                 {"一次性登录链接", "One-time login link"},
	"link.note":                  {"此链接只能使用一次，并且很快过期。", "This link works once and expires soon."},
	"link.submit":                {"登录", "Log in"},
	"link.password":              {"改用账号密码登录", "Log in with a password instead"},
	"link.spent":                 {"登录链接无效、已使用或已过期；请用账号密码登录。", "The login link is unknown, used already or expired; log in with your password."},
	"action.login_link_created":  {"生成登录链接", "login link made"},
	"app.edit":                   {"修改应用设置、上传密钥或证书", "Edit settings, upload keys or certificates"},
}
