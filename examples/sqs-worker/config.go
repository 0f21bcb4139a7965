package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

// config is everything the worker is told by flags or the environment. Each
// flag -name may be given as CTRULE_SQS_NAME instead (dashes become
// underscores); a flag on the command line wins. Repeatable flags take a
// comma-separated list from the environment.
type config struct {
	QueueURL    string
	Region      string
	S3PathStyle bool

	RuleFiles   []string
	NoBuiltin   bool
	MinPriority ctrule.Priority

	Concurrency       int
	WaitTime          time.Duration
	VisibilityTimeout time.Duration
	BackoffBase       time.Duration
	BackoffMax        time.Duration
	ShutdownTimeout   time.Duration
	DedupWindow       time.Duration
	DedupMax          int

	Stdout            bool
	WebhookURL        string
	WebhookTimeout    time.Duration
	WebhookRetries    int
	WebhookHeaderFile string
	WebhookCAFile     string
	WebhookHeaders    http.Header // from CTRULE_SQS_WEBHOOK_HEADERS and -webhook-header-file
	SNSTopicARN       string

	Listen   string
	LogLevel slog.Level
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

const envPrefix = "CTRULE_SQS_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("ctrule-sqs-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.QueueURL, "queue-url", "", "URL of the SQS queue to consume (required)")
	fs.StringVar(&c.Region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	rules := listFlag{}
	fs.Var(&rules, "rules", "a Falco rules `file` loaded after the built-in RDS rules (repeatable)")
	fs.BoolVar(&c.NoBuiltin, "no-builtin", false, "do not load the built-in RDS rules")
	minPrio := fs.String("min-priority", "debug", "report only rules at least this severe (emergency ... debug)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "messages processed at once by this replica")
	fs.DurationVar(&c.WaitTime, "wait-time", 20*time.Second, "SQS long-poll wait (0s..20s)")
	fs.DurationVar(&c.VisibilityTimeout, "visibility-timeout", 2*time.Minute,
		"visibility timeout asked for received messages; renewed every third of it while a message is processed")
	fs.DurationVar(&c.BackoffBase, "backoff-base", 10*time.Second, "delay before a failed message is retried, doubled per receive")
	fs.DurationVar(&c.BackoffMax, "backoff-max", 15*time.Minute, "longest retry delay")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second,
		"on SIGTERM/SIGINT, how long in-flight messages may finish before they are released")
	fs.DurationVar(&c.DedupWindow, "dedup-window", time.Hour, "an alert already delivered for the same eventID and rule within this window is not sent again")
	fs.IntVar(&c.DedupMax, "dedup-max", 200000, "most (eventID, rule) pairs remembered per sink")
	fs.BoolVar(&c.Stdout, "stdout", true, "write alerts to stdout as Falco JSON lines")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "POST each alert as Falco JSON to this URL (falcosidekick works as is)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", 10*time.Second, "timeout of one webhook request")
	fs.IntVar(&c.WebhookRetries, "webhook-retries", 4, "webhook attempts per alert beyond the first, with exponential backoff")
	fs.StringVar(&c.WebhookHeaderFile, "webhook-header-file", "",
		"a `file` of \"Name: value\" lines sent as request headers (e.g. Authorization); also "+webhookHeadersEnv+", never a flag")
	fs.StringVar(&c.WebhookCAFile, "webhook-ca-file", "", "PEM `file` of CA certificates trusted for the webhook, besides the system's")
	fs.StringVar(&c.SNSTopicARN, "sns-topic-arn", "", "publish each alert to this SNS topic")
	fs.StringVar(&c.Listen, "listen", ":9090", "address of the /metrics and /healthz HTTP server (empty: none)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ctrule-sqs-worker -queue-url URL [flags]")
		fmt.Fprintln(stderr, "Every flag may also be set as "+envPrefix+"<NAME> (e.g. "+envName("queue-url")+").")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || set[f.Name] || envErr != nil {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
		}
	})
	if envErr != nil {
		return c, envErr
	}
	c.RuleFiles = rules
	var err error
	if c.WebhookHeaders, err = webhookHeaders(c.WebhookHeaderFile); err != nil {
		return c, err
	}

	if c.MinPriority, err = ctrule.ParsePriority(*minPrio); err != nil {
		return c, fmt.Errorf("-min-priority: %w", err)
	}
	if err := c.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return c, fmt.Errorf("-log-level: %w", err)
	}
	switch {
	case c.QueueURL == "":
		return c, errors.New("-queue-url (or " + envName("queue-url") + ") is required")
	case c.Concurrency < 1:
		return c, errors.New("-concurrency must be at least 1")
	case c.WaitTime < 0 || c.WaitTime > 20*time.Second:
		return c, errors.New("-wait-time must be between 0s and 20s (the SQS limit)")
	case c.VisibilityTimeout < 3*time.Second || c.VisibilityTimeout > 12*time.Hour:
		return c, errors.New("-visibility-timeout must be between 3s and 12h")
	case c.BackoffBase < 0 || c.BackoffMax < c.BackoffBase || c.BackoffMax > 12*time.Hour:
		return c, errors.New("need 0 <= -backoff-base <= -backoff-max <= 12h")
	case c.WebhookRetries < 0:
		return c, errors.New("-webhook-retries must not be negative")
	case !c.Stdout && c.WebhookURL == "" && c.SNSTopicARN == "":
		return c, errors.New("no alert sink: enable -stdout or set -webhook-url or -sns-topic-arn")
	}
	return c, nil
}
