module github.com/libctrule/libctrule/tests/bench/go

go 1.24

require github.com/libctrule/libctrule/bindings/go v0.0.0

// The binding in this checkout.
replace github.com/libctrule/libctrule/bindings/go => ../../../bindings/go
