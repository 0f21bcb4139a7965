package ctrule

import "github.com/libctrule/libctrule/bindings/go/internal/capi"

// HeaderVersion is the version of the ctrule.h the binding was generated
// from ("MAJOR.MINOR.PATCH").
const HeaderVersion = capi.CTR_VERSION_STRING

// Version returns the version of the linked C library ("MAJOR.MINOR.PATCH").
func Version() string { return capi.Ctr_version_string() }

// Builtins returns the names of the rulesets compiled into the library
// (loadable with AddBuiltin / LoadBuiltin), such as "rds".
func Builtins() []string {
	n := capi.Ctr_builtin_count()
	out := make([]string, 0, n)
	for i := int64(0); i < n; i++ {
		out = append(out, deref(capi.Ctr_builtin_name(i)))
	}
	return out
}

// FieldInfo describes one field a rule condition or output may name.
type FieldInfo struct {
	Name string // "ct.user", "json.value", "rds.instance", ...
	Type string // "string", "uint64" or "list"
	Desc string
}

// Fields returns every field the library supports.
func Fields() []FieldInfo {
	n := capi.Ctr_field_count()
	out := make([]FieldInfo, 0, n)
	for i := int64(0); i < n; i++ {
		out = append(out, FieldInfo{
			Name: deref(capi.Ctr_field_name(i)),
			Type: deref(capi.Ctr_field_type(i)),
			Desc: deref(capi.Ctr_field_desc(i)),
		})
	}
	return out
}
