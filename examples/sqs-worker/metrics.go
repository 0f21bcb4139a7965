package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the worker's Prometheus series (namespace ctrule_sqs).
type metrics struct {
	registry           *prometheus.Registry
	messages           *prometheus.CounterVec // by outcome
	objects            *prometheus.CounterVec // by outcome
	objectBytes        prometheus.Counter
	records            prometheus.Counter
	badRecords         prometheus.Counter
	alerts             *prometheus.CounterVec // by sink, priority
	alertsDeduplicated *prometheus.CounterVec // by sink
	failures           *prometheus.CounterVec // by stage
	inFlight           prometheus.Gauge
	eventToAlert       prometheus.Histogram
	processing         prometheus.Histogram
}

func newMetrics() *metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &metrics{
		registry: r,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "messages_total",
			Help: "SQS messages by outcome: deleted (done), failed (left for redelivery), released (shutdown), ignored (acknowledged, nothing to scan)."},
			[]string{"outcome"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "objects_total",
			Help: "S3 objects by outcome: scanned, skipped (digest/Insight), failed."}, []string{"outcome"}),
		objectBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "scanned_bytes_total",
			Help: "Bytes read from S3 objects and inline messages (as stored, before gunzip)."}),
		records: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "records_total",
			Help: "CloudTrail records evaluated."}),
		badRecords: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "bad_records_total",
			Help: "Records that could not be parsed (logged with object, index and offset)."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "alerts_total",
			Help: "Alerts delivered, by sink and priority."}, []string{"sink", "priority"}),
		alertsDeduplicated: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "alerts_deduplicated_total",
			Help: "Alerts not sent again because the sink had them for the same eventID and rule within the window."}, []string{"sink"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ctrule_sqs", Name: "failures_total",
			Help: "Failures by stage: receive, parse, s3, scan, sink_<name>, delete, visibility."}, []string{"stage"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "ctrule_sqs", Name: "in_flight_messages",
			Help: "Messages being processed."}),
		eventToAlert: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "ctrule_sqs", Name: "event_to_alert_seconds",
			Help:    "Delay from a record's eventTime to the delivery of its alert.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 4 * 3600, 24 * 3600}}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "ctrule_sqs", Name: "message_processing_seconds",
			Help:    "Time from receiving a message to its deletion.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 14)}),
	}
	for _, c := range []prometheus.Collector{m.messages, m.objects, m.objectBytes, m.records, m.badRecords, m.alerts,
		m.alertsDeduplicated, m.failures, m.inFlight, m.eventToAlert, m.processing} {
		f(c)
	}
	return m
}
