package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The real delivery envelopes of the shared corpus, each line classified:
// a digit is that many objects to fetch, i a payload scanned inline, s
// acknowledged and skipped, m malformed (left to the dead-letter queue).
// The m lines are SNS/SQS messages that are not CloudTrail deliveries
// (CloudWatch alarms, "Hello from SNS!"), Lambda-side views of a message,
// and a Lambda batch with a garbage body.
func TestParseRealEnvelopes(t *testing.T) {
	dir := "../../../shared/data/cloudtrail/envelopes"
	want := map[string]string{
		"cloudtrail_log_file.ndjson":             strings.Repeat("i", 49),
		"cloudtrail_sns_log_delivery.ndjson":     "2",
		"cwl_subscription_decoded.ndjson":        "",
		"eventbridge_cloudtrail_api_call.ndjson": "ii",
		"eventbridge_s3_object_event.ndjson":     "s111ss",
		"lambda_sns_event.ndjson":                "1smmmmm",
		"lambda_sqs_event.ndjson":                "m11mm11",
		"s3_event_notification.ndjson":           "11111sssss11",
		"s3_test_event.ndjson":                   "s",
		"sns_notification.ndjson":                "1s1mmmm2m1m",
		"sqs_record.ndjson":                      "mmmmmmmm",
	}
	for file, outcomes := range want {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			if os.Getenv("CTRULE_REQUIRE_DATA") != "" {
				t.Fatal(err)
			}
			t.Skipf("shared corpus not found: %v", err)
		}
		got := ""
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			d, err := parseMessage([]byte(line))
			switch {
			case err != nil && !errors.Is(err, errMalformed):
				t.Errorf("%s: error %v is not a malformed-message error", file, err)
			case err != nil:
				got += "m"
			case len(d.Objects) > 0:
				got += strconv.Itoa(len(d.Objects))
			case len(d.Inline) > 0:
				got += "i"
			default:
				got += "s"
			}
		}
		if file == "cwl_subscription_decoded.ndjson" {
			outcomes = got // checked below: data messages inline, control messages skipped
			if strings.Trim(got, "is") != "" || !strings.Contains(got, "i") {
				t.Errorf("%s: %s, want only i and s", file, got)
			}
		}
		if got != outcomes {
			t.Errorf("%s: outcomes %s, want %s", file, got, outcomes)
		}
	}
}

func TestParseShapes(t *testing.T) {
	cases := []struct {
		name, body string
		shape      string
		objects    []objectRef
		inline     int
		skipped    string
	}{
		{"url-encoded key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/1/CloudTrail/a+b%2Bc.json.gz"}}}]}`,
			"s3", []objectRef{{"b", "AWSLogs/1/CloudTrail/a b+c.json.gz"}}, 0, ""},
		{"removed object", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
			"s3", nil, 0, "not a new object"},
		{"digest via notice", `{"s3Bucket":"b","s3ObjectKey":["AWSLogs/1/CloudTrail-Digest/r/2025/01/01/d.json.gz","AWSLogs/1/CloudTrail/r/x.json.gz"]}`,
			"cloudtrail-sns", []objectRef{{"b", "AWSLogs/1/CloudTrail/r/x.json.gz"}}, 0, "digest file"},
		{"insight", `{"s3Bucket":"b","s3ObjectKey":["AWSLogs/1/CloudTrail-Insight/r/i.json.gz"]}`, "cloudtrail-sns", nil, 0, "Insights file"},
		{"notice in SNS", `{"Type":"Notification","Message":"{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"k1\",\"k2\"]}"}`,
			"sns/cloudtrail-sns", []objectRef{{"b", "k1"}, {"b", "k2"}}, 0, ""},
		{"eventbridge in SNS", `{"Type":"Notification","Message":"{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.rds\",\"detail\":{\"eventName\":\"StopDBCluster\"}}"}`,
			"sns/eventbridge", nil, 1, ""},
		{"eventbridge S3 object", `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`,
			"eventbridge", []objectRef{{"b", "k"}}, 0, ""},
		{"other eventbridge", `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`, "eventbridge", nil, 0, "not CloudTrail"},
		{"bare record", `{"eventVersion":"1.09","eventSource":"rds.amazonaws.com","eventName":"StopDBCluster"}`, "record", nil, 1, ""},
		{"s3 test", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`, "s3-test", nil, 0, "test event"},
	}
	for _, c := range cases {
		d, err := parseMessage([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d.Shape != c.shape || len(d.Objects) != len(c.objects) || len(d.Inline) != c.inline {
			t.Errorf("%s: got %+v", c.name, d)
			continue
		}
		for i := range c.objects {
			if d.Objects[i] != c.objects[i] {
				t.Errorf("%s: object %d is %v, want %v", c.name, i, d.Objects[i], c.objects[i])
			}
		}
		if c.skipped != "" && !strings.Contains(strings.Join(d.Skipped, "|"), c.skipped) {
			t.Errorf("%s: skipped %v, want one mentioning %q", c.name, d.Skipped, c.skipped)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, body := range []string{
		``, `not json`, `[1,2]`, `{"Records":[]}`, `{"Records":[{"foo":1}]}`, `{"s3Bucket":"b","s3ObjectKey":"config-style"}`,
		`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{\\\"Type\\\":\\\"Notification\\\",\\\"Message\\\":\\\"{\\\\\\\"Type\\\\\\\":\\\\\\\"Notification\\\\\\\",\\\\\\\"Message\\\\\\\":\\\\\\\"{}\\\\\\\"}\\\"}\"}"}`,
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`,
		`{"unknown":"shape"}`,
	} {
		if _, err := parseMessage([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("%q: err %v, want a malformed-message error", body, err)
		}
	}
}
