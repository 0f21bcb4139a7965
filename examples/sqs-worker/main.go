// Command ctrule-sqs-worker consumes CloudTrail deliveries from an SQS queue
// and alerts on them with libctrule's rules: the way the product runs in
// production, as any number of replicas competing for one queue.
//
// A message names S3 objects (S3 ObjectCreated notifications, raw or in an
// SNS envelope; CloudTrail's own SNS notice; EventBridge S3 "Object
// Created") or carries the records itself (EventBridge "AWS API Call via
// CloudTrail", raw or via SNS). Objects are streamed from S3 through gunzip
// into the scanner; alerts go to stdout as Falco JSON lines and optionally to
// a webhook and an SNS topic. A message is deleted only when everything it
// names was scanned and every alert delivered (at-least-once); see README.md.
//
//	ctrule-sqs-worker -queue-url URL [-rules file.yaml]... [-concurrency 4]
//	                  [-webhook-url URL] [-sns-topic-arn ARN] [-listen :9090]
//	ctrule-sqs-worker backfill -queue-url URL -bucket B [-prefix P] -since D1 -until D2
//	                  [-accounts ...] [-regions ...]   (see backfill.go)
//
// Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a startup
// failure, 2 on a usage or rules error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/libctrule/libctrule/bindings/go/ctrule"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "backfill" { // history onto the queue: backfill.go
		return runBackfill(ctx, args[1:], stderr)
	}
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ctrule-sqs-worker:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	rules, err := compileRules(cfg, log)
	if err != nil {
		log.Error("rules", "err", err)
		return 2
	}
	defer rules.Close()

	awsOpts := []func(*awsconfig.LoadOptions) error{}
	if cfg.Region != "" {
		awsOpts = append(awsOpts, awsconfig.WithRegion(cfg.Region))
	}
	// The standard AWS_ENDPOINT_URL(_SQS/_S3/_SNS) variables are honoured
	// here, which is how the tests reach a local server.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		log.Error("AWS configuration", "err", err)
		return 1
	}
	// The SDK's own messages (retries, checksum notes) join the structured log.
	awsCfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
	m := newMetrics()
	var sinks []sink
	if cfg.Stdout {
		sinks = append(sinks, newStdoutSink(stdout))
	}
	if cfg.WebhookURL != "" {
		client, err := webhookClient(cfg.WebhookTimeout, cfg.WebhookCAFile)
		if err != nil {
			log.Error("configuration", "err", err)
			return 2
		}
		sinks = append(sinks, &webhookSink{url: cfg.WebhookURL, client: client, headers: cfg.WebhookHeaders,
			retries: cfg.WebhookRetries, backoff: 250 * time.Millisecond})
	}
	if cfg.SNSTopicARN != "" {
		sinks = append(sinks, &snsSink{client: sns.NewFromConfig(awsCfg), topic: cfg.SNSTopicARN})
	}
	w := &worker{
		cfg:     cfg,
		sqs:     sqs.NewFromConfig(awsCfg),
		s3:      s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.S3PathStyle }),
		rules:   rules,
		deliver: &deliverer{sinks: sinks, seen: newSeenSet(cfg.DedupWindow, cfg.DedupMax), m: m},
		log:     log,
		m:       m,
		// Made here, before /healthz can read them.
		slots:   make(chan struct{}, cfg.Concurrency),
		deletes: make(chan deleteReq),
	}

	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			log.Error("listen", "addr", cfg.Listen, "err", err)
			return 1
		}
		srv := &http.Server{Handler: w.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info("serving /metrics and /healthz", "addr", ln.Addr().String())
	}

	log.Info("started", "queue", cfg.QueueURL, "concurrency", cfg.Concurrency, "rules_enabled", rules.EnabledCount(),
		"sinks", len(sinks), "visibility_timeout", cfg.VisibilityTimeout.String(), "libctrule", ctrule.Version())
	w.run(ctx)
	log.Info("stopped")
	return 0
}

func compileRules(cfg config, log *slog.Logger) (*ctrule.Ruleset, error) {
	var opts []ctrule.CompileOption
	if !cfg.NoBuiltin {
		opts = append(opts, ctrule.LoadBuiltin("rds"))
	}
	for _, f := range cfg.RuleFiles {
		opts = append(opts, ctrule.LoadFile(f))
	}
	opts = append(opts, ctrule.MinPriority(cfg.MinPriority), ctrule.OnDiagnostic(func(d ctrule.Diagnostic) {
		if d.Severity == ctrule.SeverityWarning {
			log.Warn("rules", "diagnostic", d.Text)
		}
	}))
	rs, err := ctrule.Compile(opts...)
	if err != nil {
		return nil, err // a *ctrule.CompileError lists file:line:column diagnostics
	}
	if rs.EnabledCount() == 0 {
		rs.Close()
		return nil, errors.New("no rule is enabled")
	}
	return rs, nil
}

// httpHandler serves Prometheus metrics and a health check: /healthz is 503
// while the worker is stopping or after three receives in a row failed.
func (w *worker) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		status, code := "ok", http.StatusOK
		switch {
		case w.stopping.Load():
			status, code = "stopping", http.StatusServiceUnavailable
		case w.receiveFailing.Load() >= 3:
			status, code = "receive failing", http.StatusServiceUnavailable
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(code)
		json.NewEncoder(rw).Encode(map[string]any{"status": status, "in_flight": w.inFlight.Load(),
			"receive_failures_in_a_row": w.receiveFailing.Load()})
	})
	return mux
}
