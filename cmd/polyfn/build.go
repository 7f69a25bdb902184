package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

func init() {
	commands["build"] = command{summary: "package a function for a cloud (dist/<cloud>/…)", run: build}
}

// packager writes the deployable artifact of one function for one cloud.
// Each cloud registers one from an init function in build_<cloud>.go.
type packager struct {
	// archs lists the accepted --arch values; the first is the default.
	archs []string
	pack  func(ctx context.Context, job buildJob) error
}

var packagers = map[string]packager{}

// buildJob is what a packager gets.
type buildJob struct {
	// Pkg is the function's main package, as given ("./cmd/users").
	Pkg string
	// Name is the function's name: the package directory's last element.
	Name string
	// Arch is the target architecture (GOARCH spelling).
	Arch string
	// OutDir is the cloud's output directory, <out>/<cloud>; it exists.
	OutDir string
	// Manifests are the declarations of the apps the function runs.
	Manifests []core.Manifest
	// Grants are the --scheme options: the URL scheme of a variable whose
	// kind does not decide its service on the cloud (nil: none given).
	Grants *deploy.GrantOptions
	Stdout io.Writer
	Stderr io.Writer
}

func build(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("polyfn build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cloud := fs.String("cloud", "", "target `cloud`: "+strings.Join(cloudNames(), ", "))
	arch := fs.String("arch", "", "target `architecture` (default: the cloud's first, see below)")
	out := fs.String("out", "dist", "output `directory`")
	plan := fs.Bool("plan", false, "print the deployment plan as JSON on stdout and write nothing (--cloud is then optional)")
	var grants deploy.GrantOptions
	fs.Func("scheme", "`VAR=SCHEME`: the URL scheme variable VAR will have where its kind does not decide the service, "+
		"such as USERS_API_KEYS_URL=awssecretsmanager (default awsparamstore) or JOBS_URL="+deploy.AzureQueueScheme+
		" (a Storage queue, default azuresb); repeatable", func(v string) error {
		name, scheme, ok := strings.Cut(v, "=")
		if !ok || name == "" || scheme == "" {
			return fmt.Errorf("want VAR=SCHEME, got %q", v)
		}
		if _, dup := grants.Schemes[name]; dup {
			return fmt.Errorf("%s is given twice", name)
		}
		if grants.Schemes == nil {
			grants.Schemes = map[string]string{}
		}
		grants.Schemes[name] = scheme
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: polyfn build --cloud CLOUD [--arch ARCH] [--out DIR] [--scheme VAR=SCHEME]... ./cmd/<name>\n")
		fmt.Fprintf(stderr, "       polyfn build --plan [--cloud CLOUD] [--arch ARCH] ./cmd/<name>\n\n")
		fs.PrintDefaults()
		for _, c := range cloudNames() {
			fmt.Fprintf(stderr, "  %s: --arch %s\n", c, strings.Join(packagers[c].archs, "|"))
		}
	}
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	p, ok := packagers[*cloud]
	if *plan && *cloud == "" {
		// The plan is cloud-neutral: without a cloud, either architecture.
		p, ok = packager{archs: []string{"amd64", "arm64"}}, true
	}
	if !ok {
		fmt.Fprintf(stderr, "polyfn build: --cloud must be one of %s\n", strings.Join(cloudNames(), ", "))
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "polyfn build: name the function's main package, such as ./cmd/users")
		return errUsage
	}
	if *arch == "" {
		*arch = p.archs[0]
	}
	if !slices.Contains(p.archs, *arch) {
		target := *cloud
		if target == "" {
			target = "the plan"
		}
		fmt.Fprintf(stderr, "polyfn build: --arch for %s must be one of %s\n", target, strings.Join(p.archs, ", "))
		return errUsage
	}
	pkg := fs.Arg(0)
	manifests, err := describe(ctx, pkg)
	if err != nil {
		return err
	}
	if *plan {
		return printPlan(manifests, *arch, stdout)
	}
	dir := filepath.Join(*out, *cloud)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return p.pack(ctx, buildJob{
		Pkg: pkg, Name: path.Base(filepath.ToSlash(filepath.Clean(pkg))), Arch: *arch, OutDir: dir,
		Manifests: manifests, Grants: grantsOrNil(grants), Stdout: stdout, Stderr: stderr,
	})
}

// printPlan writes the deployment plan of manifests for arch (GOARCH
// spelling) to stdout as indented JSON (see docs/deploy.md).
func printPlan(manifests []core.Manifest, arch string, stdout io.Writer) error {
	opts := &deploy.Options{Arch: core.X86_64}
	if arch == "arm64" {
		opts.Arch = core.ARM64
	}
	p, err := deploy.NewPlan(manifests, opts)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// grantsOrNil returns nil for options that hold nothing.
func grantsOrNil(g deploy.GrantOptions) *deploy.GrantOptions {
	if len(g.Schemes) == 0 {
		return nil
	}
	return &g
}

func cloudNames() []string {
	names := make([]string, 0, len(packagers))
	for n := range packagers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// describe builds pkg for this machine, with no tag, and runs it with
// POLYFN_MANIFEST=1 to read the declarations of the apps it runs.
func describe(ctx context.Context, pkg string) ([]core.Manifest, error) {
	dir, err := os.MkdirTemp("", "polyfn-describe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "fn")
	if err := goCommand(ctx, nil, "build", "-o", bin, pkg); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "POLYFN_MANIFEST=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("reading the declaration of %s (does its main call launch.Start?): %v\n%s", pkg, err, stderr.String())
	}
	ms, err := core.ParseManifests(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading the declaration of %s (does its main call launch.Start?): %w", pkg, err)
	}
	return ms, nil
}

// crossBuild compiles pkg for linux/arch with the given tags into out:
// static (CGO_ENABLED=0), trimmed and stripped, as a deployable binary.
func crossBuild(ctx context.Context, pkg, out, arch string, tags ...string) error {
	env := []string{"GOOS=linux", "GOARCH=" + arch, "CGO_ENABLED=0"}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	return goCommand(ctx, env, append(args, pkg)...)
}

// goCommand runs the go command with extra environment; its output is
// returned in the error when it fails.
func goCommand(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
