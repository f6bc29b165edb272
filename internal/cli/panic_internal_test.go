package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestPanicExitsOne: a panic in a command is an internal error: exit 1
// (never 2, the usage status), one line saying "internal error, please
// report", and the stack in a quartz-panic-*.txt file in os.TempDir.
func TestPanicExitsOne(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	register(&command{name: "test-panic", summary: "panics", run: func(context.Context, *env, []string) error {
		var m map[string]int
		m["x"] = 1 // assignment to entry in nil map
		return nil
	}})
	defer delete(commands, "test-panic")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"test-panic", "--flag"}, &out, &errb)
	msg := errb.String()
	if code != 1 || !strings.Contains(msg, "internal error, please report") || strings.Count(msg, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want exit 1 and one line with \"internal error, please report\"", code, msg)
	}
	file := regexp.MustCompile(`stack trace in (\S+quartz-panic-\S+\.txt)`).FindStringSubmatch(msg)
	if file == nil || !strings.HasPrefix(file[1], os.TempDir()) {
		t.Fatalf("no stack file in os.TempDir named in %q", msg)
	}
	stack, err := os.ReadFile(file[1])
	if err != nil || !strings.Contains(string(stack), "assignment to entry in nil map") || !strings.Contains(string(stack), "panic_internal_test.go") {
		t.Errorf("stack file %s: %v\n%s", file[1], err, stack)
	}
}
