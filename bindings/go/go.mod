module github.com/libctrule/libctrule/bindings/go

go 1.24
