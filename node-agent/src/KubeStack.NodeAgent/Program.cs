using KubeStack.NodeAgent.Hosting;

return await AgentHost.RunAsync(args);
