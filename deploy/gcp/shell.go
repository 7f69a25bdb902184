package gcp

import (
	"fmt"
	"strings"
)

// A Word is one shell word, made of literal text and the values of shell
// variables. The renderer quotes it whole (see String), so that no value
// can split a word or run a command.
type Word []Part

// Part is a literal (Var empty), a variable's value, or, with IfSet,
// the word IfSet when the variable IfVar is set and nothing otherwise
// (${NAME:+word}).
type Part struct {
	Lit   string
	Var   string
	IfVar string
	IfSet Word
}

// ifSet returns the word that is w when the variable name is set and
// empty otherwise. w's literal text may hold no "}", which would end
// the expansion.
func ifSet(name string, w Word) Part {
	for _, p := range w {
		if strings.Contains(p.Lit, "}") || p.IfVar != "" {
			panic(fmt.Sprintf("gcp: %q: a } or a nested condition in ${%s:+…}", p.Lit, name))
		}
	}
	return Part{IfVar: name, IfSet: w}
}

// word parses s into a Word: "${NAME}" is the variable NAME, everything
// else literal. It panics on a "$" that starts no variable, since every
// such string is written in this package (a programmer error).
func word(s string) Word {
	var w Word
	for s != "" {
		i := strings.Index(s, "$")
		if i < 0 {
			w = append(w, Part{Lit: s})
			break
		}
		if i > 0 {
			w = append(w, Part{Lit: s[:i]})
		}
		rest, ok := strings.CutPrefix(s[i:], "${")
		end := strings.Index(rest, "}")
		if !ok || end <= 0 || !isShellName(rest[:end]) {
			panic(fmt.Sprintf("gcp: %q: a $ that starts no ${NAME}", s))
		}
		w = append(w, Part{Var: rest[:end]})
		s = rest[end+1:]
	}
	return w
}

// isShellName reports whether s is a shell variable's name.
func isShellName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// String renders the word for the shell: a word with variables in
// double quotes, its literal text escaped (\\, ", $ and `), and one
// without in single quotes when it needs any.
func (w Word) String() string {
	if len(w) == 0 {
		return "''"
	}
	if len(w) == 1 && w[0].Var == "" {
		return quote(w[0].Lit)
	}
	var b strings.Builder
	b.WriteByte('"')
	w.inQuotes(&b)
	b.WriteByte('"')
	return b.String()
}

// inQuotes writes the word as the inside of a double-quoted string.
func (w Word) inQuotes(b *strings.Builder) {
	for _, p := range w {
		switch {
		case p.IfVar != "":
			b.WriteString("${" + p.IfVar + ":+")
			p.IfSet.inQuotes(b)
			b.WriteString("}")
		case p.Var != "":
			b.WriteString("${" + p.Var + "}")
		default:
			for i := 0; i < len(p.Lit); i++ {
				if strings.IndexByte("\\\"$`", p.Lit[i]) >= 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(p.Lit[i])
			}
		}
	}
}

// Value is the word with each variable's value from env, as the shell
// would pass it: what the stub gcloud of the tests sees.
func (w Word) Value(env func(string) string) string {
	var b strings.Builder
	for _, p := range w {
		switch {
		case p.IfVar != "":
			if env(p.IfVar) != "" {
				b.WriteString(p.IfSet.Value(env))
			}
		case p.Var != "":
			b.WriteString(env(p.Var))
		default:
			b.WriteString(p.Lit)
		}
	}
	return b.String()
}

// quote single-quotes s unless every character is one no POSIX shell
// treats specially.
func quote(s string) string {
	if s == "" {
		return "''"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./:=@%+,", c) >= 0) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

// A Command is one gcloud invocation: its arguments after "gcloud".
type Command []Word

// gcloud makes a command from arguments in word's syntax.
func gcloud(args ...string) Command {
	c := make(Command, len(args))
	for i, a := range args {
		c[i] = word(a)
	}
	return c
}

// with returns c with more arguments.
func (c Command) with(args ...string) Command {
	return append(c[:len(c):len(c)], gcloud(args...)...)
}

// String renders the command, an argument per line after the leading
// words that name the command (gcloud pubsub topics create NAME).
func (c Command) String() string { return c.render("  ") }

// render renders the command with its continuation lines indented by
// indent.
func (c Command) render(indent string) string {
	parts := []string{"gcloud"}
	for _, w := range c {
		parts = append(parts, w.String())
	}
	head := 1
	for head < len(parts) && len(c[head-1]) == 1 && c[head-1][0].Var == "" && !strings.HasPrefix(c[head-1][0].Lit, "-") {
		head++
	}
	lines := []string{strings.Join(parts[:head], " ")}
	lines = append(lines, parts[head:]...)
	return strings.Join(lines, " \\\n"+indent)
}

// Args are the arguments as the shell passes them, with env's values.
func (c Command) Args(env func(string) string) []string {
	out := make([]string, len(c))
	for i, w := range c {
		out[i] = w.Value(env)
	}
	return out
}

// A Step is one thing deploy.sh does, in one of four forms:
//
//   - Check and Create: Create runs only when Check (a describe) fails,
//     so that a second run creates nothing; Update, when set, runs when
//     Check succeeds, so that what exists takes a changed declaration;
//   - Set, Check and Create: Check prints the name of the resource it
//     finds (a list filtered by display name), and Create, run only when
//     Check prints nothing, prints the name of the one it makes; the
//     name is kept in the shell variable Set;
//   - Set and Run: Run's output is kept in Set;
//   - Run alone: a command that runs every time (a deploy, which updates,
//     or an IAM binding, which adds nothing when it is there).
//
// A step with If runs only when the variable If is set: the bindings of
// an optional resource.
//
// A step with Retry is retried (see deploy.sh's retry): an IAM binding,
// which may name a service account IAM does not see yet.
type Step struct {
	Comment string
	If      string
	Retry   bool
	Set     string
	Check   Command
	Create  Command
	Update  Command
	Run     Command
}

// Var is a shell variable the script reads from its environment: one it
// requires, or an optional resource's, which may be left unset.
type Var struct {
	Name     string
	About    string
	Optional bool
}
