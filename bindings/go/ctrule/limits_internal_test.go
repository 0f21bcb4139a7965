package ctrule

import (
	"testing"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// The Limit constants are literals (SWIG's enum values are variables); they
// must equal the library's.
func TestLimitConstantsMatchTheLibrary(t *testing.T) {
	for _, c := range []struct {
		l    Limit
		want capi.Ctr_limit
	}{
		{LimitRecordBytes, capi.CTR_LIMIT_RECORD_BYTES}, {LimitJSONDepth, capi.CTR_LIMIT_JSON_DEPTH},
		{LimitGzipOutput, capi.CTR_LIMIT_GZIP_OUTPUT}, {LimitYAMLAliases, capi.CTR_LIMIT_YAML_ALIASES},
		{LimitYAMLNodes, capi.CTR_LIMIT_YAML_NODES}, {LimitConditionBytes, capi.CTR_LIMIT_CONDITION_BYTES},
		{LimitMacroDepth, capi.CTR_LIMIT_MACRO_DEPTH}, {LimitConditionNodes, capi.CTR_LIMIT_CONDITION_NODES},
		{LimitRules, capi.CTR_LIMIT_RULES}, {LimitRegexMatch, capi.CTR_LIMIT_REGEX_MATCH},
		{LimitRegexDepth, capi.CTR_LIMIT_REGEX_DEPTH}, {LimitListItems, capi.CTR_LIMIT_LIST_ITEMS},
		{LimitGzipRatio, capi.CTR_LIMIT_GZIP_RATIO}, {LimitCorrelationEvents, capi.CTR_LIMIT_CORRELATION_EVENTS},
		{LimitCorrelationLateness, capi.CTR_LIMIT_CORRELATION_LATENESS},
	} {
		if int(c.l) != int(c.want) {
			t.Errorf("%s = %d, the library says %d", c.l, int(c.l), int(c.want))
		}
	}
	if int(capi.CTR_LIMIT__COUNT) != int(LimitCorrelationLateness)+1 {
		t.Errorf("the library has %d limits: add the new ones", int(capi.CTR_LIMIT__COUNT))
	}
}
