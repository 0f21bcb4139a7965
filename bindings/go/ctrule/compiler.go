package ctrule

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/libctrule/libctrule/bindings/go/internal/capi"
)

// Compiler loads rules files, built-in rulesets and rule selections, and
// compiles them into an immutable Ruleset. Definitions accumulate across the
// Add calls in order, as Falco loads several rules files.
//
// A Compiler is meant for one goroutine; its methods are serialised by a
// mutex, so misuse is safe but not concurrent. Close it when done (Compile
// does not close it); a finalizer frees a forgotten one.
type Compiler struct {
	mu      sync.Mutex
	c       capi.SwigcptrStruct_SS_ctr_compiler // 0 once closed
	cleanup runtime.Cleanup
}

// NewCompiler creates an empty compiler.
func NewCompiler() (*Compiler, error) {
	out := []uintptr{0}
	if st := capi.Ctr_compiler_new(out); st != int(StatusOK) {
		return nil, opError("new compiler", st)
	}
	c := &Compiler{c: capi.SwigcptrStruct_SS_ctr_compiler(out[0])}
	c.cleanup = runtime.AddCleanup(c, func(p capi.SwigcptrStruct_SS_ctr_compiler) {
		cleanupRuns.Add(1)
		capi.Ctr_compiler_free(p)
	}, c.c)
	return c, nil
}

// Close frees the compiler. Rulesets it compiled stay valid. Close is
// idempotent.
func (c *Compiler) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == 0 {
		return nil
	}
	c.cleanup.Stop()
	capi.Ctr_compiler_free(c.c)
	c.c = 0
	return nil
}

// call runs fn (a library call returning a status) under the lock and turns a
// failure into a *CompileError carrying the diagnostics fn produced.
func (c *Compiler) call(op, name string, fn func(capi.SwigcptrStruct_SS_ctr_compiler) int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == 0 {
		return ErrClosed
	}
	before := capi.Ctr_compiler_diag_count(c.c)
	st := fn(c.c)
	if st == int(StatusOK) {
		return nil
	}
	return &CompileError{Status: Status(st), Op: op, Name: name, Diagnostics: c.diagsLocked(before)}
}

func (c *Compiler) diagsLocked(from int64) []Diagnostic {
	n := capi.Ctr_compiler_diag_count(c.c)
	if n <= from {
		return nil
	}
	out := make([]Diagnostic, 0, n-from)
	for i := from; i < n; i++ {
		out = append(out, newDiagnostic(capi.Ctr_compiler_diag(c.c, i)))
	}
	return out
}

// AddFile loads a rules file. On failure the error is a *CompileError
// (errors.Is: ErrSyntax, ErrIO, ErrVersion; for a file that does not exist,
// ErrIO and fs.ErrNotExist); as in Falco, loading of that file stops at its
// first error. Warnings do not fail: see Diagnostics.
func (c *Compiler) AddFile(path string) error {
	err := c.call("add file", path, func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_add_file(p, path)
	})
	var ce *CompileError
	if errors.As(err, &ce) && ce.Status == ErrIO {
		if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
			ce.notExist = true
		}
	}
	return err
}

// AddString loads rules from memory; name is the file name used in
// diagnostics.
func (c *Compiler) AddString(name, yaml string) error {
	return c.call("add string", name, func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_add_string(p, yaml, name)
	})
}

// AddBuiltin loads a ruleset compiled into the library, such as "rds" (see
// Builtins). errors.Is(err, ErrNotFound) for an unknown name.
func (c *Compiler) AddBuiltin(name string) error {
	return c.call("add builtin", name, func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_add_builtin(p, name)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SelectName enables (enable=true) or disables every rule whose name matches
// the glob (`*`, `?`, `[...]`), like Falco's -D. Selections apply at Compile
// time in the order they were made, on top of each rule's `enabled` key.
func (c *Compiler) SelectName(glob string, enable bool) error {
	return c.call("select", glob, func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_select_name(p, glob, boolInt(enable))
	})
}

// SelectTag enables or disables every rule carrying the tag (exact,
// case-sensitive), like Falco's -t / -T.
func (c *Compiler) SelectTag(tag string, enable bool) error {
	return c.call("select", tag, func(p capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_select_tag(p, tag, boolInt(enable))
	})
}

// SetMinPriority keeps rules less severe than p disabled (default
// PriorityDebug: all rules).
func (c *Compiler) SetMinPriority(p Priority) error {
	return c.call("select", p.String(), func(h capi.SwigcptrStruct_SS_ctr_compiler) int {
		return capi.Ctr_compiler_set_min_priority(h, int(p))
	})
}

// Compile resolves macros and lists and compiles every rule into an
// immutable Ruleset. If any error diagnostic exists (including from an
// earlier failed Add) it returns a *CompileError carrying every diagnostic
// so far. The compiler stays usable and must still be closed.
func (c *Compiler) Compile() (*Ruleset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == 0 {
		return nil, ErrClosed
	}
	out := []uintptr{0}
	if st := capi.Ctr_compiler_compile(c.c, out); st != int(StatusOK) {
		return nil, &CompileError{Status: Status(st), Op: "compile", Diagnostics: c.diagsLocked(0)}
	}
	return newRuleset(capi.SwigcptrStruct_SS_ctr_ruleset(out[0])), nil
}

// Diagnostics returns every diagnostic produced so far (warnings and
// errors), in order.
func (c *Compiler) Diagnostics() []Diagnostic {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == 0 {
		return nil
	}
	return c.diagsLocked(0)
}

// cleanupRuns counts the objects freed by the finalizer safety net rather
// than by Close (for tests).
var cleanupRuns atomic.Int64

// CompileOption is one step of Compile: a source to load, a selection, or a
// diagnostics hook. Steps run in the order given.
type CompileOption func(*compileSteps)

type compileSteps struct {
	steps  []func(*Compiler) error
	onDiag func(Diagnostic)
}

// LoadBuiltin loads a built-in ruleset by name ("rds").
func LoadBuiltin(name string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.AddBuiltin(name) })
	}
}

// LoadFile loads a rules file.
func LoadFile(path string) CompileOption {
	return func(s *compileSteps) { s.steps = append(s.steps, func(c *Compiler) error { return c.AddFile(path) }) }
}

// LoadString loads rules from memory, named name in diagnostics.
func LoadString(name, yaml string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.AddString(name, yaml) })
	}
}

// EnableRules enables the rules whose name matches glob.
func EnableRules(glob string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SelectName(glob, true) })
	}
}

// DisableRules disables the rules whose name matches glob.
func DisableRules(glob string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SelectName(glob, false) })
	}
}

// EnableTag enables the rules carrying tag.
func EnableTag(tag string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SelectTag(tag, true) })
	}
}

// DisableTag disables the rules carrying tag.
func DisableTag(tag string) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SelectTag(tag, false) })
	}
}

// MinPriority keeps rules less severe than p disabled.
func MinPriority(p Priority) CompileOption {
	return func(s *compileSteps) {
		s.steps = append(s.steps, func(c *Compiler) error { return c.SetMinPriority(p) })
	}
}

// OnDiagnostic receives every diagnostic (warnings included) once Compile
// has run, whether it succeeded or not.
func OnDiagnostic(fn func(Diagnostic)) CompileOption {
	return func(s *compileSteps) { s.onDiag = fn }
}

// Load compiles rules files the way the ctrule CLI's -r and Python's
// ctrule.load do: after the built-in RDS rules, so that a tuning file may
// append to or override a built-in rule; opts (a selection, OnDiagnostic)
// apply after the files. For standalone files, Compile(LoadFile(...)).
func Load(paths []string, opts ...CompileOption) (*Ruleset, error) {
	all := []CompileOption{LoadBuiltin("rds")}
	for _, p := range paths {
		all = append(all, LoadFile(p))
	}
	return Compile(append(all, opts...)...)
}

// Compile is the one-call form of Compiler: it applies the options in order,
// compiles, and closes the compiler.
//
//	rs, err := ctrule.Compile(ctrule.LoadBuiltin("rds"), ctrule.LoadFile("extra.yaml"),
//		ctrule.MinPriority(ctrule.PriorityWarning))
func Compile(opts ...CompileOption) (*Ruleset, error) {
	return CompileContext(context.Background(), opts...)
}

// CompileContext is Compile that stops when ctx is done: ctx is checked
// before each step and before the compilation, and the error then wraps
// context.Cause(ctx).
func CompileContext(ctx context.Context, opts ...CompileOption) (*Ruleset, error) {
	var s compileSteps
	for _, o := range opts {
		o(&s)
	}
	c, err := NewCompiler()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if s.onDiag != nil {
		defer func() {
			for _, d := range c.Diagnostics() {
				s.onDiag(d)
			}
		}()
	}
	for _, step := range s.steps {
		if ctx.Err() != nil {
			return nil, canceled(ctx)
		}
		if err := step(c); err != nil {
			return nil, err
		}
	}
	if ctx.Err() != nil {
		return nil, canceled(ctx)
	}
	return c.Compile()
}
