using KubeStack.Operator.Hosting;

return await OperatorHost.RunAsync(args).ConfigureAwait(false);
