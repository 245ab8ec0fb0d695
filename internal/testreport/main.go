// Command testreport reads `go test -json` on stdin and prints what ran
// against one terraform or tofu CLI: package results and the output of
// failed tests as they come, then a summary naming the CLI (its own
// `version` output), every acceptance test that passed, failed or was
// skipped (with the reason), and counts of the others. `make test` runs the
// acceptance tests once per CLI of the version matrix through it.
//
//	go test -json ./... | go run ./internal/testreport -cli "$TF_ACC_TERRAFORM_PATH" -title "every test" -out summary.txt
//
// It exits 1 when a test or package failed, or when no test passed at all
// (a -run pattern that matches nothing must not look like success).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type result struct {
	name    string // package.Test
	status  string // pass, fail, skip
	elapsed float64
	reason  string // skip reason
}

type report struct {
	out     io.Writer
	buf     map[string][]string // output per package or test, until it ends
	results []result
	pkgFail []string
}

func (r *report) print(a ...any) { _, _ = fmt.Fprint(r.out, a...) }

func (r *report) printf(format string, a ...any) { _, _ = fmt.Fprintf(r.out, format, a...) }

func key(pkg, test string) string { return pkg + "\x00" + test }

func (r *report) add(e event) {
	switch e.Action {
	case "build-output":
		r.print(e.Output)
		return
	case "output":
		k := key(e.Package, e.Test)
		r.buf[k] = append(r.buf[k], e.Output)
		return
	case "pass", "fail", "skip":
	default:
		return
	}
	k := key(e.Package, e.Test)
	lines := r.buf[k]
	delete(r.buf, k)
	if e.Test == "" { // the package
		switch e.Action {
		case "fail":
			for _, l := range lines {
				r.print(l)
			}
			r.pkgFail = append(r.pkgFail, e.Package)
			r.printf("FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
		case "pass":
			r.printf("ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
		case "skip":
			r.printf("?   \t%s\t[no test files]\n", e.Package)
		}
		return
	}
	if e.Action == "fail" {
		for _, l := range lines {
			r.print(l)
		}
	}
	if strings.Contains(e.Test, "/") {
		return // subtests count through their parent
	}
	res := result{name: shortPkg(e.Package) + "." + e.Test, status: e.Action, elapsed: e.Elapsed}
	if e.Action == "skip" {
		res.reason = skipReason(lines)
	}
	r.results = append(r.results, res)
}

// skipReason is what the test logged before it was skipped, on one line.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		parts = append(parts, t)
	}
	s := strings.Join(parts, " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func shortPkg(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// cliName is the first line of `cli version`, e.g. "Terraform v1.11.4".
func cliName(cli string) string {
	if cli == "" {
		return "no CLI"
	}
	cmd := exec.Command(cli, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return cli + " (version unknown: " + err.Error() + ")"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first) + " (" + cli + ")"
}

func (r *report) summary(cli, title string) (string, bool) {
	var b strings.Builder
	counts := map[string]int{}
	var listed []result
	for _, res := range r.results {
		counts[res.status]++
		if strings.Contains(res.name, ".TestAcc") || res.status != "pass" {
			listed = append(listed, res)
		}
	}
	sort.SliceStable(listed, func(i, j int) bool { return listed[i].name < listed[j].name })
	fmt.Fprintf(&b, "== %s: %s: %d passed, %d skipped, %d failed\n", cliName(cli), title, counts["pass"], counts["skip"], counts["fail"])
	for _, res := range listed {
		switch res.status {
		case "skip":
			fmt.Fprintf(&b, "   SKIP %s: %s\n", res.name, res.reason)
		default:
			fmt.Fprintf(&b, "   %s %s (%s)\n", strings.ToUpper(res.status), res.name, time.Duration(res.elapsed*float64(time.Second)).Round(100*time.Millisecond))
		}
	}
	if others := counts["pass"] - countAccPassed(listed); others > 0 {
		fmt.Fprintf(&b, "   and %d other tests passed\n", others)
	}
	for _, p := range r.pkgFail {
		fmt.Fprintf(&b, "   FAIL package %s\n", p)
	}
	ok := counts["fail"] == 0 && len(r.pkgFail) == 0 && counts["pass"] > 0
	if counts["pass"] == 0 {
		b.WriteString("   no test passed: the -run pattern matched nothing, or everything was skipped\n")
	}
	return b.String(), ok
}

func countAccPassed(listed []result) int {
	n := 0
	for _, r := range listed {
		if r.status == "pass" {
			n++
		}
	}
	return n
}

func main() {
	cli := flag.String("cli", os.Getenv("TF_ACC_TERRAFORM_PATH"), "the terraform or tofu binary the tests ran against")
	title := flag.String("title", "tests", "what ran (\"full suite\", \"lifecycle subset\")")
	outFile := flag.String("out", "", "also write the summary to this file")
	flag.Parse()

	r := &report{out: os.Stdout, buf: map[string][]string{}}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Println(string(line)) // not test2json: pass it through
			continue
		}
		r.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	s, ok := r.summary(*cli, *title)
	fmt.Print(s)
	if *outFile != "" {
		if err := os.WriteFile(*outFile, []byte(s), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(1)
		}
	}
	if !ok {
		os.Exit(1)
	}
}
