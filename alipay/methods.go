package alipay

// Method names of the OpenAPI that f2fpay types.
const (
	MethodTradePay              = "alipay.trade.pay"
	MethodTradePrecreate        = "alipay.trade.precreate"
	MethodTradeCreate           = "alipay.trade.create"
	MethodTradeQuery            = "alipay.trade.query"
	MethodTradeCancel           = "alipay.trade.cancel"
	MethodTradeClose            = "alipay.trade.close"
	MethodTradeRefund           = "alipay.trade.refund"
	MethodTradeFastpayRefundQry = "alipay.trade.fastpay.refund.query"
	MethodTradeOrderSettle      = "alipay.trade.order.settle"
	MethodTradeOrderSettleQuery = "alipay.trade.order.settle.query"
	MethodRoyaltyRelationBind   = "alipay.trade.royalty.relation.bind"
	MethodBillDownloadURLQuery  = "alipay.data.dataservice.bill.downloadurl.query"
	MethodSystemOauthToken      = "alipay.system.oauth.token"
	MethodUserInfoShare         = "alipay.user.info.share"
	MethodOpenAuthTokenApp      = "alipay.open.auth.token.app"
	MethodAlipayCertDownload    = "alipay.open.app.alipaycert.download"
	MethodMonitorHeartbeatSyn   = "monitor.heartbeat.syn"

	// Face payment (刷脸付, docs/vending.md §1) and agreement payment (商家扣款, docs/vending.md §7).
	MethodSmilepayInitialize         = "zoloz.authentication.smilepay.initialize"
	MethodCustomerSmilepayInitialize = "zoloz.authentication.customer.smilepay.initialize"
	MethodUserAgreementPageSign      = "alipay.user.agreement.page.sign"
	MethodUserAgreementQuery         = "alipay.user.agreement.query"
	MethodUserAgreementUnsign        = "alipay.user.agreement.unsign"
)
