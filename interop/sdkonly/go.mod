// A program outside the f2fpay module that uses the SDK alone, as an SDK user would.
// The replace points at this checkout; a user requires a released version instead.
// TestSDKStandaloneBuild (alipay/standalone_test.go) builds it and checks its
// dependencies.
module example.com/sdkonly

go 1.26.8

require github.com/f2fpay/f2fpay v0.0.0-00010101000000-000000000000

require golang.org/x/text v0.43.0 // indirect

replace github.com/f2fpay/f2fpay => ../..
