// RunPlugin: plugins written in Python, above all CrossGuard policy packs
// (`pulumi preview --policy-pack DIR` with `runtime: python` in
// DIR/PulumiPolicy.yaml).
//
// Contract (sdk/v3 proto LanguageRuntime.RunPlugin, engine side in
// pkg/v3 resource/plugin): the engine streams back what the plugin writes,
// reads the plugin's gRPC port from the first line of its stdout, and learns
// the exit code from the last message. A policy pack (kind "analyzer") is
// `python -u -m pulumi.policy <engine address> <pack directory>`, run in the
// pack directory; pulumi-policy reads the stack's project, stack, dry-run
// flag and config from PULUMI_PROJECT / PULUMI_STACK / PULUMI_DRY_RUN /
// PULUMI_CONFIG. The engine only sends those in an AnalyzerStackConfigure
// call after the plugin has started, so the pack is fronted by sdk/v3's
// PolicyProxy: the proxy's port goes to the engine first, the stack
// configuration it receives becomes the pack's environment, then every
// analyzer call is forwarded to the pack. Any other kind runs the plugin
// directory's __main__.py with the request's arguments, in the request's
// working directory.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func (h *languageHost) RunPlugin(req *pulumirpc.RunPluginRequest,
	server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented,
			"debugging plugins is not supported by Bakery's pulumi-language-python")
	}
	ctx := server.Context()
	_, tc, err := toolchainFor(req.GetInfo())
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)

	var args []string
	if analyzer {
		args = append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
		args = append(args, dir)
	} else {
		args = append([]string{dir}, req.GetArgs()...)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Dir = req.GetPwd()

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Stderr = stderr

	var proxy *sdk.PolicyProxy
	if analyzer {
		// pulumi-policy packs have always run from their own directory.
		cmd.Dir = dir
		var packStdout io.Writer
		proxy, packStdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("starting the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("waiting for the stack configuration: %w", err)
		}
		env, err := policyPackEnv(stack)
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, env...)
		cmd.Stdout = packStdout
	} else {
		cmd.Stdout = stdout
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	logging.V(5).Infof("language host running plugin: %s (in %s)", strings.Join(cmd.Args, " "), cmd.Dir)

	if err := cmd.Start(); err != nil {
		if proxy != nil {
			proxy.Abort(err)
		}
		return fmt.Errorf("could not start plugin %s: %w", req.GetName(), err)
	}
	if proxy != nil {
		// Returns once the pack has exited (it waits for the process itself).
		err = proxy.Attach(ctx, cmd)
	} else {
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return server.Send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
		})
	}
	if err != nil {
		return fmt.Errorf("plugin %s: %w", req.GetName(), err)
	}
	return closer.Close()
}

// policyPackEnv is the environment pulumi-policy reads the stack from; none
// when the engine sent no stack (e.g. `pulumi policy publish`).
func policyPackEnv(stack *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if stack == nil {
		return nil, nil
	}
	var env []string
	set := func(name, value string) {
		if value != "" {
			env = append(env, name+"="+value)
		}
	}
	set("PULUMI_ORGANIZATION", stack.GetOrganization())
	set("PULUMI_PROJECT", stack.GetProject())
	set("PULUMI_STACK", stack.GetStack())
	set("PULUMI_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
	if config := stack.GetConfig(); len(config) > 0 {
		text, err := json.Marshal(config)
		if err != nil {
			return nil, fmt.Errorf("serializing the stack config: %w", err)
		}
		set("PULUMI_CONFIG", string(text))
	}
	if keys := stack.GetConfigSecretKeys(); len(keys) > 0 {
		text, err := json.Marshal(keys)
		if err != nil {
			return nil, fmt.Errorf("serializing the secret config keys: %w", err)
		}
		set("PULUMI_CONFIG_SECRET_KEYS", string(text))
	}
	return env, nil
}
