package main

import (
	"strings"
	"testing"
)

func TestReportSummary(t *testing.T) {
	var out strings.Builder
	r := &report{out: &out, buf: map[string][]string{}}
	events := []event{
		{Action: "output", Package: "x/provider", Test: "TestAccA", Output: "=== RUN   TestAccA\n"},
		{Action: "pass", Package: "x/provider", Test: "TestAccA", Elapsed: 1.25},
		{Action: "output", Package: "x/provider", Test: "TestAccB", Output: "=== RUN   TestAccB\n"},
		{Action: "output", Package: "x/provider", Test: "TestAccB", Output: "    b_test.go:9: Terraform CLI version 1.5.7 is below minimum version 1.8.0: skipping test\n"},
		{Action: "output", Package: "x/provider", Test: "TestAccB", Output: "--- SKIP: TestAccB (0.00s)\n"},
		{Action: "skip", Package: "x/provider", Test: "TestAccB"},
		{Action: "output", Package: "x/provider", Test: "TestUnit/sub", Output: "    detail of the failure\n"},
		{Action: "fail", Package: "x/provider", Test: "TestUnit/sub"},
		{Action: "fail", Package: "x/provider", Test: "TestUnit"},
		{Action: "pass", Package: "x/other", Test: "TestOther"},
		{Action: "fail", Package: "x/provider", Elapsed: 3},
	}
	for _, e := range events {
		r.add(e)
	}
	if !strings.Contains(out.String(), "detail of the failure") || !strings.Contains(out.String(), "FAIL\tx/provider") {
		t.Errorf("failure output not passed through:\n%s", out.String())
	}
	s, ok := r.summary("", "subset")
	if ok {
		t.Error("summary ok with a failed test")
	}
	for _, want := range []string{
		"no CLI: subset: 2 passed, 1 skipped, 1 failed",
		"PASS provider.TestAccA (1.3s)",
		"SKIP provider.TestAccB: b_test.go:9: Terraform CLI version 1.5.7 is below minimum version 1.8.0: skipping test",
		"FAIL provider.TestUnit",
		"and 1 other tests passed",
		"FAIL package x/provider",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestReportNothingPassedIsAFailure(t *testing.T) {
	r := &report{out: &strings.Builder{}, buf: map[string][]string{}}
	r.add(event{Action: "skip", Package: "x/provider", Test: "TestAccA"})
	r.add(event{Action: "pass", Package: "x/provider"})
	if s, ok := r.summary("", "subset"); ok || !strings.Contains(s, "no test passed") {
		t.Errorf("a run where nothing passed is ok=%v:\n%s", ok, s)
	}
}
