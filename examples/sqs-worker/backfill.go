package main

// The backfill subcommand: the worker fleet scans CloudTrail history. It
// lists the day prefixes of CloudTrail's layout in a range of days and
// enqueues one S3 ObjectCreated-shaped message per object, so every replica
// on the queue shares the work with the guarantees a live delivery has
// (at-least-once, retries, the dead-letter queue). Re-running it is safe: the
// sinks drop an (eventID, rule) pair already delivered within -dedup-window.
//
//	ctrule-sqs-worker backfill -queue-url URL -bucket B [-prefix P] -since 2024-05-01 -until 2024-05-31
//	                           [-accounts 111122223333,...] [-regions eu-west-1,...]

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

type backfillConfig struct {
	QueueURL, Bucket, Prefix, Region string
	S3PathStyle                      bool
	Since, Until                     time.Time
	Accounts, Regions                []string
}

var (
	reAccount = regexp.MustCompile(`^\d{12}$`)
	reOrg     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	reRegion  = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-\d+$`)
)

func parseBackfill(args []string, stderr io.Writer) (backfillConfig, error) {
	var c backfillConfig
	fs := flag.NewFlagSet("ctrule-sqs-worker backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.QueueURL, "queue-url", "", "URL of the workers' SQS queue (required; or "+envName("queue-url")+")")
	fs.StringVar(&c.Bucket, "bucket", "", "the trail's S3 bucket (required)")
	fs.StringVar(&c.Prefix, "prefix", "", "the trail's key prefix, down to AWSLogs/, o-ORG/, an account or a region")
	fs.StringVar(&c.Region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	since := fs.String("since", "", "first delivery day, YYYY-MM-DD (UTC; required)")
	until := fs.String("until", "", "last delivery day, YYYY-MM-DD (UTC; default: today)")
	accounts, regions := listFlag{}, listFlag{}
	fs.Var(&accounts, "accounts", "comma-separated account ids (default: every account)")
	fs.Var(&regions, "regions", "comma-separated regions (default: every region)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ctrule-sqs-worker backfill -queue-url URL -bucket B -since YYYY-MM-DD [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.QueueURL == "" {
		c.QueueURL = envLookup("queue-url")
	}
	var err error
	switch {
	case c.QueueURL == "":
		return c, errors.New("-queue-url (or " + envName("queue-url") + ") is required")
	case c.Bucket == "":
		return c, errors.New("-bucket is required")
	case *since == "":
		return c, errors.New("-since is required: a backfill lists the day prefixes of a range, never a whole bucket")
	}
	if c.Since, err = time.Parse(time.DateOnly, *since); err != nil {
		return c, fmt.Errorf("-since %q: not a YYYY-MM-DD day", *since)
	}
	c.Until = time.Now().UTC().Truncate(24 * time.Hour)
	if *until != "" {
		if c.Until, err = time.Parse(time.DateOnly, *until); err != nil {
			return c, fmt.Errorf("-until %q: not a YYYY-MM-DD day", *until)
		}
	}
	if c.Until.Before(c.Since) {
		return c, fmt.Errorf("-since %s is after -until %s", *since, c.Until.Format(time.DateOnly))
	}
	for _, a := range accounts {
		if !reAccount.MatchString(a) {
			return c, fmt.Errorf("-accounts: %q is not an account id (12 digits)", a)
		}
	}
	for _, r := range regions {
		if !reRegion.MatchString(r) {
			return c, fmt.Errorf("-regions: %q is not a region name", r)
		}
	}
	c.Accounts, c.Regions = accounts, regions
	return c, nil
}

func envLookup(flagName string) string { return os.Getenv(envName(flagName)) }

// s3Lister is the part of the S3 client the listing uses.
type s3Lister interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// folders lists the next path segments under prefix (one level) that match
// want (all when nil).
func folders(ctx context.Context, c s3Lister, bucket, prefix string, want *regexp.Regexp) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, cp := range page.CommonPrefixes {
			if n := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"); want == nil || want.MatchString(n) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// dayPrefixes resolves the prefix against AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/
// and returns every YYYY/MM/DD/ prefix of the range for the accounts and regions asked for.
func dayPrefixes(ctx context.Context, c s3Lister, cfg backfillConfig) ([]string, error) {
	parts := strings.FieldsFunc(cfg.Prefix, func(r rune) bool { return r == '/' })
	i := slices.Index(parts, "AWSLogs")
	if i < 0 {
		base := strings.Join(parts, "/")
		if base != "" {
			base += "/"
		}
		top, err := folders(ctx, c, cfg.Bucket, base, nil)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(top, "AWSLogs") {
			return nil, fmt.Errorf("s3://%s/%s: no AWSLogs/ folder here: give the trail's key prefix with -prefix", cfg.Bucket, base)
		}
		parts, i = append(parts, "AWSLogs"), len(parts)
	}
	root, rest := strings.Join(parts[:i+1], "/")+"/", parts[i+1:]
	var owners []string
	if len(rest) > 0 && reOrg.MatchString(rest[0]) {
		owners, rest = []string{root + rest[0] + "/"}, rest[1:]
	} else {
		owners = []string{root}
		orgs, err := folders(ctx, c, cfg.Bucket, root, reOrg)
		if err != nil {
			return nil, err
		}
		for _, n := range orgs { // an organization trail's accounts sit under o-ORG/
			owners = append(owners, root+n+"/")
		}
	}
	if len(rest) > 3 || (len(rest) > 1 && rest[1] != "CloudTrail") || (len(rest) > 0 && !reAccount.MatchString(rest[0])) {
		return nil, fmt.Errorf("-prefix %q: expected [PREFIX/]AWSLogs/[o-ORG/][ACCOUNT/[CloudTrail/[REGION/]]]", cfg.Prefix)
	}
	var out []string
	for _, owner := range owners {
		accts := rest[:min(len(rest), 1)]
		if len(accts) == 0 {
			var err error
			if accts, err = folders(ctx, c, cfg.Bucket, owner, reAccount); err != nil {
				return nil, err
			}
		}
		for _, acct := range accts {
			if len(cfg.Accounts) > 0 && !slices.Contains(cfg.Accounts, acct) {
				continue
			}
			base := owner + acct + "/CloudTrail/"
			regs := rest[min(len(rest), 2):]
			if len(regs) == 0 && len(cfg.Regions) > 0 {
				regs = cfg.Regions // no need to list what is named
			} else if len(regs) == 0 {
				var err error
				if regs, err = folders(ctx, c, cfg.Bucket, base, reRegion); err != nil {
					return nil, err
				}
			}
			for _, reg := range regs {
				if len(cfg.Regions) > 0 && !slices.Contains(cfg.Regions, reg) {
					continue
				}
				for d := cfg.Since; !d.After(cfg.Until); d = d.AddDate(0, 0, 1) {
					out = append(out, base+reg+"/"+d.Format("2006/01/02")+"/")
				}
			}
		}
	}
	return out, nil
}

// notification is an S3 ObjectCreated event naming one object, as S3 sends it.
func notification(bucket, key string, size int64) string {
	escaped := strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"eventTime": time.Now().UTC().Format(time.RFC3339),
		"s3": map[string]any{"s3SchemaVersion": "1.0",
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": escaped, "size": size}},
	}}})
	return string(b)
}

// sqsSender is the part of the SQS client the backfill uses.
type sqsSender interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// sendBatch enqueues up to 10 bodies, retrying the entries SQS refused.
func sendBatch(ctx context.Context, q sqsSender, queueURL string, bodies []string) error {
	pending := map[string]string{}
	for i, b := range bodies {
		pending[strconv.Itoa(i)] = b
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("SQS refused %d messages 5 times", len(pending))
		}
		var entries []sqstypes.SendMessageBatchRequestEntry
		for id, b := range pending {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(b)})
		}
		out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			return err
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
			}
		}
	}
	return nil
}

// runBackfill is `ctrule-sqs-worker backfill`. Exit status: 0 when every
// object listed was enqueued, 1 when listing or sending failed or a signal
// stopped it (what was enqueued stays enqueued; re-running is safe), 2 on a
// usage error.
func runBackfill(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseBackfill(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ctrule-sqs-worker backfill:", err)
		return 2
	}
	say := func(format string, a ...any) { fmt.Fprintf(stderr, "backfill: "+format+"\n", a...) }
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		say("AWS configuration: %v", err)
		return 1
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.S3PathStyle })
	return enqueueHistory(ctx, cfg, s3c, sqs.NewFromConfig(awsCfg), say)
}

// enqueueHistory lists the range and enqueues its objects, ten per batch.
func enqueueHistory(ctx context.Context, cfg backfillConfig, s3c s3Lister, q sqsSender, say func(string, ...any)) int {
	prefixes, err := dayPrefixes(ctx, s3c, cfg)
	if err != nil {
		say("listing s3://%s/%s: %v", cfg.Bucket, cfg.Prefix, err)
		return 1
	}
	say("%d day prefixes from %s to %s", len(prefixes), cfg.Since.Format(time.DateOnly), cfg.Until.Format(time.DateOnly))
	sent, skipped, failed := 0, 0, 0
	var batch []string
	last := time.Now()
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		if ctx.Err() != nil { // a signal: stop before the next batch
			return false
		}
		if err := sendBatch(ctx, q, cfg.QueueURL, batch); err != nil {
			if ctx.Err() == nil {
				say("sending to %s: %v", cfg.QueueURL, err)
			}
			return false
		}
		sent += len(batch)
		batch = batch[:0]
		if time.Since(last) >= time.Second {
			say("%d objects enqueued", sent)
			last = time.Now()
		}
		return true
	}
	for _, prefix := range prefixes {
		p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() && ctx.Err() == nil {
			page, err := p.NextPage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					say("listing s3://%s/%s: %v", cfg.Bucket, prefix, err)
					failed++
				}
				break
			}
			for _, o := range page.Contents {
				if ctx.Err() != nil {
					break
				}
				key := aws.ToString(o.Key)
				if strings.HasSuffix(key, "/") || skipReason(key) != "" {
					skipped++
					continue
				}
				batch = append(batch, notification(cfg.Bucket, key, aws.ToInt64(o.Size)))
				if len(batch) == 10 && !flush() && ctx.Err() == nil {
					return 1
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() == nil && !flush() {
		return 1
	}
	if ctx.Err() != nil {
		say("interrupted: %d objects enqueued; re-running is safe (alerts already delivered are not sent again)", sent)
		return 1
	}
	say("done: %d objects enqueued on %s (%d digests or folders skipped, %d prefixes not listed)", sent, cfg.QueueURL, skipped, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
