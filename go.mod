module github.com/f2fpay/f2fpay

go 1.26.8
