package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// outAlert is an alert ready for the sinks.
type outAlert struct {
	EventID  string // "" when the record has none
	Rule     string
	Priority ctrule.Priority
	Time     time.Time // the event's time (zero when unknown)
	JSON     []byte    // one Falco JSON object, no newline
}

// newOutAlert takes the alert's Falco JSON line as the binding writes it
// (Alert.JSON, the library's ctr_match_json: the same bytes as `ctrule scan
// --json`), whose output_fields carry the record's eventID as ct.id so that
// systems downstream can de-duplicate what several replicas (or a
// redelivery) reported twice. An error only when the line cannot be written
// (out of memory): the message is then not deleted, and comes back.
func newOutAlert(a ctrule.Alert) (outAlert, error) {
	line, err := a.JSON()
	if err != nil {
		return outAlert{}, err
	}
	var rec struct {
		EventID string `json:"eventID"`
	}
	// The record was parsed by the scanner already; an eventID that is not
	// a string just leaves the alert without one.
	_ = json.Unmarshal(a.Raw, &rec)
	return outAlert{
		EventID:  rec.EventID,
		Rule:     a.Rule,
		Priority: a.Priority,
		Time:     a.Time,
		JSON:     line,
	}, nil
}

// sink delivers alerts somewhere. Send returns nil only when every alert
// was accepted.
type sink interface {
	Name() string
	Send(ctx context.Context, alerts []outAlert) error
}

// stdoutSink writes JSON lines; lines of concurrent messages never mix.
type stdoutSink struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newStdoutSink(w io.Writer) *stdoutSink { return &stdoutSink{w: bufio.NewWriter(w)} }

func (s *stdoutSink) Name() string { return "stdout" }

func (s *stdoutSink) Send(_ context.Context, alerts []outAlert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range alerts {
		s.w.Write(a.JSON)
		s.w.WriteByte('\n')
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// webhookSink POSTs each alert as a Falco JSON body, as Falco's http_output
// does, so a falcosidekick endpoint takes it as is.
type webhookSink struct {
	url     string
	client  *http.Client
	headers http.Header // sent with every request (Authorization, ...)
	retries int
	backoff time.Duration // first retry delay, doubled per attempt
}

func (s *webhookSink) Name() string { return "webhook" }

func (s *webhookSink) Send(ctx context.Context, alerts []outAlert) error {
	for _, a := range alerts {
		if err := s.post(ctx, a.JSON); err != nil {
			return err
		}
	}
	return nil
}

func (s *webhookSink) post(ctx context.Context, body []byte) error {
	delay := s.backoff
	var last error
	for attempt := 0; attempt <= s.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return errors.Join(last, ctx.Err())
			}
			delay *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("webhook %s: %w", s.url, err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range s.headers {
			req.Header[k] = v
		}
		resp, err := s.client.Do(req)
		if err != nil {
			last = fmt.Errorf("webhook %s: %w", s.url, err)
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("webhook %s: HTTP %s", s.url, resp.Status)
	}
	return fmt.Errorf("%w (after %d attempts)", last, s.retries+1)
}

// snsSink publishes each alert to a topic, ten per request; the rule and
// priority go in message attributes so subscriptions can filter on them.
type snsSink struct {
	client *sns.Client
	topic  string
}

func (s *snsSink) Name() string { return "sns" }

func (s *snsSink) Send(ctx context.Context, alerts []outAlert) error {
	for start := 0; start < len(alerts); start += 10 {
		batch := alerts[start:min(start+10, len(alerts))]
		entries := make([]snstypes.PublishBatchRequestEntry, len(batch))
		for i, a := range batch {
			entries[i] = snstypes.PublishBatchRequestEntry{
				Id:      aws.String(strconv.Itoa(i)),
				Message: aws.String(string(a.JSON)),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{
					"rule":     {DataType: aws.String("String"), StringValue: aws.String(a.Rule)},
					"priority": {DataType: aws.String("String"), StringValue: aws.String(a.Priority.String())},
				},
			}
		}
		out, err := s.client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(s.topic), PublishBatchRequestEntries: entries})
		if err != nil {
			return fmt.Errorf("sns %s: %w", s.topic, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("sns %s: %d of %d alerts refused, e.g. %s: %s", s.topic, len(out.Failed), len(batch),
				aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}
