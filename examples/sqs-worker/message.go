package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// objectRef names one S3 object that holds CloudTrail records.
type objectRef struct {
	Bucket string
	Key    string
}

func (o objectRef) String() string { return "s3://" + o.Bucket + "/" + o.Key }

// delivery is what one SQS message asks the worker to do.
type delivery struct {
	// Shape names the message's wrapping, for logs and metrics:
	// "s3", "sns/s3", "cloudtrail-sns", "sns/cloudtrail-sns", "eventbridge", ...
	Shape string
	// Objects are the S3 objects to fetch and scan.
	Objects []objectRef
	// Inline are CloudTrail payloads carried in the message itself
	// (EventBridge events, bare records); the scanner reads them as they are.
	Inline [][]byte
	// Skipped explains what the message names but the worker deliberately
	// does not scan (test events, digest files, other S3 events).
	Skipped []string
}

// errMalformed marks a message the worker cannot understand: it is left for
// redelivery, so the queue's redrive policy moves it to the dead-letter queue.
var errMalformed = errors.New("malformed message")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, a...))
}

// maxNesting bounds envelope recursion (SNS in SQS-batch-in-Lambda is 3).
const maxNesting = 4

// parseMessage classifies an SQS message body. The shapes are the ones
// CloudTrail, S3, SNS and EventBridge produce (docs: input-shapes.md).
func parseMessage(body []byte) (delivery, error) {
	var d delivery
	shape, err := classify(body, 0, &d)
	d.Shape = shape
	return d, err
}

// envelope has the keys that tell the shapes apart.
type envelope struct {
	// SNS
	Type    string  `json:"Type"`
	Message *string `json:"Message"`
	// S3 test event
	Event string `json:"Event"`
	// S3 notification, Lambda SQS/SNS batches, CloudTrail log files
	Records []json.RawMessage `json:"Records"`
	// CloudTrail's own SNS notice
	S3Bucket    *string         `json:"s3Bucket"`
	S3ObjectKey json.RawMessage `json:"s3ObjectKey"`
	// EventBridge
	DetailType *string         `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
	// a bare CloudTrail record
	EventVersion *string `json:"eventVersion"`
	EventName    *string `json:"eventName"`
	EventSource  *string `json:"eventSource"`
	// digest file
	DigestStartTime *string `json:"digestStartTime"`
	// decoded CloudWatch Logs subscription payload
	MessageType string          `json:"messageType"`
	LogEvents   json.RawMessage `json:"logEvents"`
}

func classify(body []byte, depth int, d *delivery) (string, error) {
	if depth >= maxNesting {
		return "", malformed("envelopes nested more than %d deep", maxNesting)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", malformed("body is not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return "", malformed("invalid JSON: %v", err)
	}
	switch {
	case env.Type == "Notification" && env.Message != nil:
		inner, err := classify([]byte(*env.Message), depth+1, d)
		return "sns/" + inner, err

	case env.Event == "s3:TestEvent":
		d.Skipped = append(d.Skipped, "S3 test event")
		return "s3-test", nil

	case env.S3Bucket != nil && len(env.S3ObjectKey) > 0:
		return "cloudtrail-sns", cloudTrailNotice(*env.S3Bucket, env.S3ObjectKey, d)

	case env.DetailType != nil && env.Detail != nil:
		return "eventbridge", eventBridge(&env, trimmed, d)

	case env.Records != nil:
		return records(env.Records, trimmed, depth, d)

	case env.MessageType == "CONTROL_MESSAGE":
		d.Skipped = append(d.Skipped, "CloudWatch Logs control message")
		return "cloudwatch-logs", nil

	case env.MessageType == "DATA_MESSAGE" && env.LogEvents != nil:
		// The scanner reads the records out of logEvents[].message.
		d.Inline = append(d.Inline, trimmed)
		return "cloudwatch-logs", nil

	case env.DigestStartTime != nil:
		d.Skipped = append(d.Skipped, "CloudTrail digest file")
		return "digest", nil

	case env.EventVersion != nil && env.EventName != nil && env.EventSource != nil &&
		!strings.HasPrefix(*env.EventSource, "aws:"):
		// A bare record: an EventBridge target with an input transformer.
		d.Inline = append(d.Inline, trimmed)
		return "record", nil
	}
	return "", malformed("not a CloudTrail, S3, SNS or EventBridge message")
}

// cloudTrailNotice: {"s3Bucket": "...", "s3ObjectKey": ["...", ...]}. The
// keys are not URL-encoded here.
func cloudTrailNotice(bucket string, rawKeys json.RawMessage, d *delivery) error {
	var keys []string
	if err := json.Unmarshal(rawKeys, &keys); err != nil {
		// AWS Config's delivery message has a string s3ObjectKey.
		return malformed("s3ObjectKey is not an array of strings (an AWS Config notice?)")
	}
	if bucket == "" || len(keys) == 0 {
		return malformed("CloudTrail notice without bucket or keys")
	}
	for _, k := range keys {
		addObject(d, objectRef{Bucket: bucket, Key: k})
	}
	return nil
}

func eventBridge(env *envelope, body []byte, d *delivery) error {
	if strings.HasSuffix(*env.DetailType, "via CloudTrail") {
		// The scanner understands the EventBridge envelope itself.
		d.Inline = append(d.Inline, body)
		return nil
	}
	if env.Source == "aws.s3" && *env.DetailType == "Object Created" {
		var det s3Entity // EventBridge's S3 detail names them as S3 notifications do
		if err := json.Unmarshal(env.Detail, &det); err != nil || det.Bucket.Name == "" || det.Object.Key == "" {
			return malformed("EventBridge S3 Object Created event without bucket or key")
		}
		addObject(d, objectRef{Bucket: det.Bucket.Name, Key: det.Object.Key})
		return nil
	}
	d.Skipped = append(d.Skipped, fmt.Sprintf("EventBridge %q event from %s is not CloudTrail data", *env.DetailType, env.Source))
	return nil
}

// records handles every {"Records":[...]} shape: S3 notifications, the
// Lambda SQS and SNS batches, and a CloudTrail log file sent inline.
func records(recs []json.RawMessage, body []byte, depth int, d *delivery) (string, error) {
	if len(recs) == 0 {
		return "", malformed("empty Records array")
	}
	shape := ""
	for i, raw := range recs {
		var r struct {
			EventSource    string          `json:"eventSource"`
			EventSourceSNS string          `json:"EventSource"`
			EventName      string          `json:"eventName"`
			UserIdentity   json.RawMessage `json:"userIdentity"`
			Body           *string         `json:"body"`
			SNS            *envelope       `json:"Sns"`
			S3             *s3Entity       `json:"s3"`
			EventVersion   json.RawMessage `json:"eventVersion"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return "", malformed("Records[%d]: %v", i, err)
		}
		switch {
		case r.EventSource == "aws:s3" && r.S3 != nil:
			shape = "s3"
			if err := s3Record(i, r.EventName, r.S3, d); err != nil {
				return "", err
			}
		case r.EventSource == "aws:sqs" && r.Body != nil:
			inner, err := classify([]byte(*r.Body), depth+1, d)
			if err != nil {
				return "", err
			}
			shape = "sqs-batch/" + inner
		case r.EventSourceSNS == "aws:sns" && r.SNS != nil && r.SNS.Message != nil:
			inner, err := classify([]byte(*r.SNS.Message), depth+1, d)
			if err != nil {
				return "", err
			}
			shape = "sns-batch/" + inner
		case r.EventVersion != nil && r.EventName != "" && !strings.HasPrefix(r.EventSource, "aws:"):
			// A CloudTrail log file body: the scanner reads all of it.
			d.Inline = append(d.Inline, body)
			return "log-file", nil
		default:
			return "", malformed("Records[%d] is neither an S3 notification, an SQS/SNS record nor a CloudTrail record", i)
		}
	}
	return shape, nil
}

// s3Entity is the bucket and object of an S3 notification record (and of
// EventBridge's S3 events).
type s3Entity struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key string `json:"key"`
	} `json:"object"`
}

func s3Record(i int, eventName string, e *s3Entity, d *delivery) error {
	if !strings.HasPrefix(eventName, "ObjectCreated:") {
		d.Skipped = append(d.Skipped, fmt.Sprintf("S3 %s event is not a new object", eventName))
		return nil
	}
	// S3 notifications URL-encode keys (a space arrives as '+').
	key, err := url.QueryUnescape(e.Object.Key)
	if err != nil {
		return malformed("Records[%d].s3.object.key %q: %v", i, e.Object.Key, err)
	}
	if e.Bucket.Name == "" || key == "" {
		return malformed("Records[%d]: S3 notification without bucket or key", i)
	}
	addObject(d, objectRef{Bucket: e.Bucket.Name, Key: key})
	return nil
}

// addObject queues an object unless its key says it holds no events.
func addObject(d *delivery, o objectRef) {
	if why := skipReason(o.Key); why != "" {
		d.Skipped = append(d.Skipped, why+" "+o.String())
		return
	}
	d.Objects = append(d.Objects, o)
}

// skipReason recognises CloudTrail's non-event objects by their key layout:
// .../AWSLogs/<account>/CloudTrail-Digest/... and .../CloudTrail-Insight/...
func skipReason(key string) string {
	switch {
	case strings.Contains(key, "/CloudTrail-Digest/") || strings.Contains(key, "_CloudTrail-Digest_"):
		return "digest file"
	case strings.Contains(key, "/CloudTrail-Insight/") || strings.Contains(key, "_CloudTrail-Insight_"):
		return "Insights file"
	}
	return ""
}
