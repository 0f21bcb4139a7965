package ctrule_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/libctrule/libctrule/bindings/go/ctrule"
)

const exampleRules = `
- rule: RDS Instance Stopped
  desc: A DB instance was stopped.
  condition: ct.name = StopDBInstance and not ct.error exists
  output: stopped %json.value[/requestParameters/dBInstanceIdentifier] by %ct.user (err=%ct.error)
  priority: WARNING
  source: aws_cloudtrail
  tags: [aws, aws_rds]
`

const exampleEvents = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"bob"},"eventTime":"2025-03-01T10:02:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","requestParameters":{"dBInstanceIdentifier":"orders-db"}}
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"eve"},"eventTime":"2025-03-01T10:03:11Z","eventSource":"rds.amazonaws.com","eventName":"StopDBInstance","awsRegion":"eu-west-1","errorCode":"AccessDenied"}
`

func ExampleRuleset_NewScanner() {
	rs, err := ctrule.Compile(ctrule.LoadString("example.yaml", exampleRules))
	if err != nil {
		log.Fatal(err)
	}
	defer rs.Close()

	sc, err := rs.NewScanner(func(a ctrule.Alert) error {
		user, _ := a.Field("ct.user")
		_, hasErr := a.Field("ct.error")
		fmt.Println(a.Time, a.Priority, a.Rule, "|", a.Output, "|", user, hasErr, a.Tags)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sc.Close()
	if _, err := io.Copy(sc, strings.NewReader(exampleEvents)); err != nil {
		log.Fatal(err)
	}
	if err := sc.Finish(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 2025-03-01 10:02:11 +0000 UTC Warning RDS Instance Stopped | stopped orders-db by bob (err=<NA>) | bob false [aws aws_rds]
}

func ExampleRuleset_Alerts() {
	rs, err := ctrule.Compile(ctrule.LoadString("example.yaml", exampleRules))
	if err != nil {
		log.Fatal(err)
	}
	defer rs.Close()
	for a, err := range rs.Alerts(strings.NewReader(exampleEvents)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("record %d at byte %d: %s\n", a.RecordIndex, a.ByteOffset, a.Output)
	}
	// Output:
	// record 0 at byte 0: stopped orders-db by bob (err=<NA>)
}

func ExampleCompileError() {
	_, err := ctrule.Compile(ctrule.LoadString("rules.yaml", "- rule: r\n  desc: d\n  condition: ct.name = (\n  output: o\n  priority: INFO\n"))
	var ce *ctrule.CompileError
	if errors.As(err, &ce) {
		d := ce.Errors()[0]
		fmt.Println(errors.Is(err, ctrule.ErrSyntax), d.File, d.Line, d.Column)
	}
	// Output:
	// true rules.yaml 3 24
}

func ExampleOnRecordError() {
	rs, err := ctrule.Compile(ctrule.LoadString("example.yaml", exampleRules))
	if err != nil {
		log.Fatal(err)
	}
	defer rs.Close()
	input := "{not json}\n" + exampleEvents
	stats, err := rs.Scan(strings.NewReader(input), func(ctrule.Alert) error { return nil },
		ctrule.OnRecordError(func(e *ctrule.RecordError) error {
			fmt.Println("bad record", e.Index, "at byte", e.Offset, errors.Is(e, ctrule.ErrData))
			return nil // carry on; return e to stop
		}))
	fmt.Println(stats.Records, stats.Matches, stats.BadRecords, err)
	// Output:
	// bad record 0 at byte 0 true
	// 3 1 1 <nil>
}
