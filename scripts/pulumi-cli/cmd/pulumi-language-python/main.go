// Command pulumi-language-python is Bakery's own, minimal Python language host
// for the Pulumi CLI.
//
// Why it exists: upstream's host is the Go module
// github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, which the
// Go module proxy reachable here does not serve (not even as a
// pseudo-version), so it cannot be built offline. This host is written from
// the gRPC contract in github.com/pulumi/pulumi/sdk/v3/proto (same version as
// the CLI) and reuses the Python toolchain helpers of sdk/v3
// (sdk/v3/python/toolchain: pip / uv / poetry, virtualenv handling).
// See scripts/README-pulumi-cli.md for what it implements and what it leaves
// out.
//
// Contract with the CLI (pkg/v3 resource/plugin/langruntime_plugin.go):
//   - it is started as `pulumi-language-python [flags] <engine-address>`, in
//     the program directory, and must print the port of its gRPC server on
//     the first line of stdout;
//   - the engine then calls GetPluginInfo, GetRequiredPackages (falling back
//     to GetRequiredPlugins) and Run, among others.
//
// Contract with the executor: Run starts
//
//	<python> <dir of this binary>/pulumi-language-python-exec \
//	    --monitor ADDR --engine ADDR --project P --root_directory DIR \
//	    --stack S --pwd DIR --dry_run true|false --parallel N \
//	    [--tracing URL] [--organization ORG] ENTRYPOINT [ARGS...]
//
// with PULUMI_CONFIG (JSON object) and PULUMI_CONFIG_SECRET_KEYS (JSON list)
// in its environment. <python> is the virtualenv's python when the project
// sets `runtime.options.virtualenv`, else $PULUMI_PYTHON_CMD, else python3 /
// python from PATH. Exit code 32 means "the program already told the user
// what went wrong": the engine is asked to bail without another message.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	executorName = "pulumi-language-python-exec"

	// Exit code by which the executor says it already reported the error.
	exitCodeUserActionable = 32
)

func main() {
	var tracing, executor string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.StringVar(&executor, "use-executor", "",
		"Use the given executor script instead of "+executorName+" next to this binary")
	// Accepted and ignored, as upstream does: options now come in ProgramInfo.
	flag.String("virtualenv", "", "[obsolete] ignored")
	flag.String("root", "", "[obsolete] ignored")
	flag.String("typechecker", "", "[obsolete] ignored")
	flag.String("toolchain", "", "[obsolete] ignored")
	flag.Parse()

	logging.InitLogging(false, 0, false)

	if executor == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine the path of this executable: %w", err))
		}
		executor = filepath.Join(filepath.Dir(self), executorName)
	}
	if _, err := os.Stat(executor); err != nil {
		cmdutil.Exit(fmt.Errorf("missing executor %s: %w", executor, err))
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelServer := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelServer)
	}()

	// Exit when the engine goes away.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check: %w", err))
		}
	}

	host := &languageHost{executor: executor, engineAddress: engineAddress, tracing: tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServer,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host gRPC server: %w", err))
	}

	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host gRPC server stopped: %w", err))
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor string
	tracing  string

	mu            sync.Mutex
	engineAddress string
}

func (h *languageHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// toolchainFor resolves the Python toolchain a request's program uses, with its options.
func toolchainFor(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, toolchain.Toolchain, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return opts, nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	return opts, tc, err
}

// pythonOptions turns ProgramInfo into toolchain options. Recognised
// `runtime.options` in Pulumi.yaml: toolchain (pip|uv|poetry), virtualenv.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{}
	if info == nil {
		opts.Toolchain = toolchain.Pip
		return opts, nil
	}
	opts.Root = info.GetRootDirectory()
	opts.ProgramDir = info.GetProgramDirectory()

	raw := map[string]any{}
	if info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	for key, value := range raw {
		text, ok := value.(string)
		if !ok {
			return opts, fmt.Errorf("runtime option %q must be a string", key)
		}
		switch key {
		case "virtualenv":
			opts.Virtualenv = text
		case "toolchain":
			switch text {
			case "pip":
				opts.Toolchain = toolchain.Pip
			case "uv":
				opts.Toolchain = toolchain.Uv
			case "poetry":
				opts.Toolchain = toolchain.Poetry
			default:
				return opts, fmt.Errorf("unsupported toolchain option %q (want pip, uv or poetry)", text)
			}
		case "typechecker":
			return opts, errors.New("the typechecker runtime option is not supported by Bakery's " +
				"pulumi-language-python (see scripts/README-pulumi-cli.md)")
		default:
			// Unknown options are ignored, like upstream.
		}
	}
	return opts, nil
}

func (h *languageHost) Handshake(_ context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins is the legacy form of GetRequiredPackages; answering
// Unimplemented makes the engine use the latter.
func (h *languageHost) GetRequiredPlugins(context.Context,
	*pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "use GetRequiredPackages")
}

// GetRequiredPackages reports the resource plugins that installed Python
// packages ask for: every distribution that ships a top-level
// <module>/pulumi-plugin.json, or whose name starts with pulumi- / pulumi_.
// Like upstream, it first creates the virtualenv (and installs
// requirements.txt into it) when the project names one that does not exist.
func (h *languageHost) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	opts, tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.EnsureVenv(ctx, opts.ProgramDir, false, true, os.Stderr, os.Stderr); err != nil {
		return nil, err
	}

	dists, err := listDistributions(ctx, tc)
	if err != nil {
		return nil, err
	}
	var packages []*pulumirpc.PackageDependency
	for _, d := range dists {
		if dep := packageDependency(d); dep != nil {
			packages = append(packages, dep)
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// distribution is one installed Python distribution as seen by listDistributionsScript.
type distribution struct {
	Name    string         `json:"name"`
	Version string         `json:"version"`
	Plugin  map[string]any `json:"plugin"` // parsed <module>/pulumi-plugin.json, or nil
}

// Prints a JSON list of {name, version, plugin} for every installed
// distribution of the interpreter that runs it.
const listDistributionsScript = `
import json, sys
from importlib import metadata
out = []
for dist in metadata.distributions():
    name = dist.metadata["Name"] or ""
    plugin = None
    for f in dist.files or ():
        if f.name == "pulumi-plugin.json" and len(f.parts) == 2:
            try:
                plugin = json.loads(f.read_text())
            except Exception:
                plugin = None
            break
    out.append({"name": name, "version": dist.version, "plugin": plugin})
json.dump(out, sys.stdout)
`

func listDistributions(ctx context.Context, tc toolchain.Toolchain) ([]distribution, error) {
	cmd, err := tc.Command(ctx, "-c", listDistributionsScript)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing installed Python packages with %s: %w", cmd.Path, err)
	}
	var dists []distribution
	if err := json.Unmarshal(out, &dists); err != nil {
		return nil, fmt.Errorf("parsing the list of installed Python packages: %w", err)
	}
	return dists, nil
}

// Distributions that are known to have no resource plugin.
var noPlugin = map[string]bool{"pulumi-policy": true, "pulumi-esc-sdk": true}

func packageDependency(d distribution) *pulumirpc.PackageDependency {
	norm := strings.ToLower(strings.ReplaceAll(d.Name, "_", "-"))
	if d.Plugin == nil && !strings.HasPrefix(norm, "pulumi-") {
		return nil
	}
	if noPlugin[norm] {
		return nil
	}
	str := func(key string) string {
		s, _ := d.Plugin[key].(string)
		return s
	}
	dep := &pulumirpc.PackageDependency{Kind: "resource"}
	if d.Plugin != nil {
		if resource, _ := d.Plugin["resource"].(bool); !resource {
			return nil
		}
		dep.Name, dep.Version, dep.Server = str("name"), str("version"), str("server")
		if p, ok := d.Plugin["parameterization"].(map[string]any); ok {
			name, _ := p["name"].(string)
			ver, _ := p["version"].(string)
			var value []byte
			if v, ok := p["value"].(string); ok {
				// []byte fields are base64 in JSON; decode via encoding/json.
				_ = json.Unmarshal([]byte(strconv.Quote(v)), &value)
			}
			dep.Parameterization = &pulumirpc.PackageParameterization{Name: name, Version: ver, Value: value}
		}
	}
	if dep.Name == "" {
		dep.Name = strings.TrimPrefix(norm, "pulumi-")
	}
	if dep.Version == "" {
		v, ok := semverFromPEP440(d.Version)
		if !ok {
			return nil // cannot tell the plugin version: skip, as upstream does
		}
		dep.Version = v
	}
	if !strings.HasPrefix(dep.Version, "v") {
		dep.Version = "v" + dep.Version
	}
	return dep
}

var pep440 = regexp.MustCompile(`^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?$`)

// semverFromPEP440 maps the common PEP 440 forms onto semver:
// 1.2 -> 1.2.0, 1.2.3a4 -> 1.2.3-alpha.4, 1.2.3rc1 -> 1.2.3-rc.1,
// 1.2.3.post4 -> 1.2.3+post4, 1.2.3.dev5 -> 1.2.3+dev5, 1.2.3.post4.dev5 -> 1.2.3+post4dev5.
func semverFromPEP440(v string) (string, bool) {
	m := pep440.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	parts := strings.Split(m[1], ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	out := strings.Join(parts, ".")
	if m[2] != "" {
		out += "-" + map[string]string{"a": "alpha", "b": "beta", "rc": "rc"}[m[2]] + "." + m[3]
	}
	build := ""
	if m[4] != "" {
		build += "post" + m[4]
	}
	if m[5] != "" {
		build += "dev" + m[5]
	}
	if build != "" {
		out += "+" + build
	}
	return out, true
}

// Run executes the program through the executor script.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{
			Error: "debugging is not supported by Bakery's pulumi-language-python",
		}, nil
	}
	_, tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.executor}
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engine())
	flagArg("project", req.GetProject())
	flagArg("root_directory", req.GetInfo().GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	flagArg("organization", req.GetOrganization())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing secret config keys: %w", err)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "PULUMI_CONFIG="+string(configJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	logging.V(5).Infof("language host running: %s", strings.Join(cmd.Args, " "))

	err = cmd.Run()
	// Make sure the engine has seen everything the program printed.
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == exitCodeUserActionable {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{
		Error: fmt.Sprintf("problem executing program (could not run %s): %v", executorName, err),
	}, nil
}

// InstallDependencies backs `pulumi install`: creates the virtualenv (if
// one is configured) and installs requirements.txt / pyproject deps.
func (h *languageHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return err
	}
	if req.GetIsPlugin() && opts.Toolchain == toolchain.Pip && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Installing dependencies...")
	if err := tc.InstallDependencies(server.Context(), opts.ProgramDir,
		req.GetUseLanguageVersionTools(), true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

// RuntimeOptionsPrompts is only used by `pulumi new`: no prompts.
func (h *languageHost) RuntimeOptionsPrompts(context.Context,
	*pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	_, tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
	}, nil
}

func (h *languageHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing Python dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
