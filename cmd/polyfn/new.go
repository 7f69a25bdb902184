package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/format"
	gotoken "go/token"
	"go/version"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"text/template"
)

func init() {
	commands["new"] = command{summary: "scaffold a function: its package, test and cmd/<name> main", run: newFunction}
}

// newTemplates are the files polyfn new writes, as text/template sources.
//
//go:embed templates/new/*.tmpl
var newTemplates embed.FS

var newTmpl = template.Must(template.ParseFS(newTemplates, "templates/new/*.tmpl"))

// newFiles maps each written file, relative to the module's root (NAME
// substituted), to its template. Go files are formatted before writing.
var newFiles = []struct{ path, tmpl string }{
	{"NAME/NAME.go", "function.go.tmpl"},
	{"NAME/NAME_test.go", "function_test.go.tmpl"},
	{"cmd/NAME/main.go", "main.go.tmpl"},
}

// newData is what the templates see.
type newData struct {
	Name      string   // the function's name: its package, app and directory
	Env       string   // Name upper-cased, the prefix of its variables
	Module    string   // the module path
	Import    string   // the function package's import path
	Go        string   // a new module's go directive
	Root      string   // the module's directory, as the user gave or found it
	NewModule bool     // --module: go.mod was written too
	Files     []string // the written files, relative to Root
}

func newFunction(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	module := fs.String("module", "", "create a new module with this `path` (default: add to the module of the current directory)")
	dir := fs.String("dir", "", "the `directory` of the new module (default: the module path's last element), or where to look for the current module's go.mod")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: polyfn new NAME [--module PATH] [--dir DIR]\n\n"+
			"Writes NAME/NAME.go (an app with one route and one message trigger), its test on\n"+
			"the local runtime, and cmd/NAME/main.go, at the root of the current module (found\n"+
			"from the current directory up to go.mod), or of a new module with --module.\n"+
			"Existing files are never overwritten.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// NAME may come before the flags or after them.
	if err := parseFlags(fs, args, len(args)); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "polyfn new: a NAME is required")
		fs.Usage()
		return errUsage
	}
	if err := parseFlags(fs, rest[1:], 0); err != nil {
		return err
	}
	name := rest[0]
	if err := checkNewName(name); err != nil {
		return err
	}
	d := newData{Name: name, Env: strings.ToUpper(name)}
	if *module != "" {
		if err := validModulePath(*module); err != nil {
			return err
		}
		d.Module, d.NewModule, d.Go = *module, true, goDirective()
		d.Root = *dir
		if d.Root == "" {
			d.Root = path.Base(*module)
		}
	} else {
		start := *dir
		if start == "" {
			start = "."
		}
		root, mod, err := findModule(start)
		if err != nil {
			return err
		}
		d.Root, d.Module = root, mod
	}
	d.Import = d.Module + "/" + name

	files := map[string][]byte{}
	var order []string
	add := func(rel, tmpl string) error {
		var b bytes.Buffer
		if err := newTmpl.ExecuteTemplate(&b, tmpl, d); err != nil {
			return fmt.Errorf("rendering %s: %w", rel, err)
		}
		out := b.Bytes()
		if strings.HasSuffix(rel, ".go") {
			var err error
			if out, err = format.Source(out); err != nil {
				return fmt.Errorf("formatting %s: %w", rel, err)
			}
		}
		files[rel] = out
		order = append(order, rel)
		return nil
	}
	if d.NewModule {
		if err := add("go.mod", "go.mod.tmpl"); err != nil {
			return err
		}
	}
	for _, f := range newFiles {
		if err := add(strings.ReplaceAll(f.path, "NAME", name), f.tmpl); err != nil {
			return err
		}
	}
	// Nothing is written if any file exists already.
	var existing []string
	for _, rel := range order {
		if _, err := os.Lstat(filepath.Join(d.Root, filepath.FromSlash(rel))); err == nil {
			existing = append(existing, filepath.Join(d.Root, filepath.FromSlash(rel)))
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("not overwriting what exists: %s", strings.Join(existing, ", "))
	}
	for _, rel := range order {
		p := filepath.Join(d.Root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// O_EXCL: a file that appeared since the check is not overwritten either.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, werr := f.Write(files[rel])
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
		d.Files = append(d.Files, rel)
	}
	return newTmpl.ExecuteTemplate(stdout, "next.txt.tmpl", d)
}

// newName is the intersection of a Go package name that suits a
// directory (lower-case letters and digits) and core.NewApp's app names
// (lower-case letters, digits and hyphens, starting with a letter, at most
// 63), which Go identifiers cannot take a hyphen of.
var newName = regexp.MustCompile(`^[a-z][a-z0-9]{0,62}$`)

// reservedNewNames cannot be a function's package: main is a command, launch
// is imported beside it by cmd/NAME/main.go, and the go command gives
// vendor and testdata directories another meaning.
var reservedNewNames = map[string]string{
	"main":     "it names a command's package, not a function's",
	"launch":   "cmd/NAME/main.go imports polyfn's launch package beside it",
	"vendor":   "the go command reads a vendor directory as the module's vendored dependencies",
	"testdata": "the go command ignores testdata directories",
}

// checkNewName reports why name cannot be a function's name, or nil.
func checkNewName(name string) error {
	switch {
	case !newName.MatchString(name):
		return fmt.Errorf("function name %q: want lower-case letters and digits, starting with a letter, at most 63 (a Go package name and a polyfn app name)", name)
	case gotoken.IsKeyword(name):
		return fmt.Errorf("function name %q: a Go keyword cannot name a package", name)
	case reservedNewNames[name] != "":
		return fmt.Errorf("function name %q: %s", name, reservedNewNames[name])
	}
	return nil
}

// validModulePath refuses what cannot be a module path: its elements are
// letters, digits and -._~, none empty, none starting or ending with a dot.
func validModulePath(p string) error {
	elem := regexp.MustCompile(`^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$`)
	for _, e := range strings.Split(p, "/") {
		if !elem.MatchString(e) || strings.HasSuffix(e, ".") {
			return fmt.Errorf("module path %q: element %q is not a valid path element", p, e)
		}
	}
	return nil
}

// findModule walks up from dir to the directory holding go.mod, and
// returns that directory and the module path it declares.
func findModule(dir string) (root, module string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for d := abs; ; {
		text, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod, err := modulePath(text)
			if err != nil {
				return "", "", fmt.Errorf("%s: %w", filepath.Join(d, "go.mod"), err)
			}
			return d, mod, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", fmt.Errorf("no go.mod in %s or above: run polyfn new in a module, or create one with --module PATH", abs)
		}
		d = parent
	}
}

// modulePath returns the path of go.mod's module directive.
func modulePath(gomod []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		p := strings.TrimSpace(rest)
		if u, err := strconv.Unquote(p); err == nil {
			p = u
		}
		if p != "" {
			return p, nil
		}
	}
	return "", errors.New("no module directive")
}

// goDirective is a new module's go version: the toolchain's that built
// this command, as go mod init writes; polyfn's own minimum when that is a
// development build.
func goDirective() string {
	if v := runtime.Version(); version.IsValid(v) && version.Compare(v, "go"+minGo) >= 0 {
		return strings.TrimPrefix(v, "go")
	}
	return minGo
}

// minGo is the go directive of polyfn's go.mod.
const minGo = "1.26.5"
