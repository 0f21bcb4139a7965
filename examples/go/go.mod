module github.com/libctrule/libctrule/examples/go

go 1.24

require github.com/libctrule/libctrule/bindings/go v0.0.0

// Build against the binding in this checkout. A service outside the
// repository drops this line and requires a released version instead.
replace github.com/libctrule/libctrule/bindings/go => ../../bindings/go
