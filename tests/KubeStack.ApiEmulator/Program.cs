using KubeStack.ApiEmulator;

// Standalone emulator for the local stack:
//   KubeStack.ApiEmulator --port 0 --kubeconfig .kubestack/kubeconfig --crds crds/
// prints "listening on http://127.0.0.1:PORT", writes the kubeconfig, registers the CRDs and runs until SIGTERM/SIGINT.
return await EmulatorMain.RunAsync(args).ConfigureAwait(false);
