return await VmEcosystem.ConsoleHost.VmecoCli.RunAsync(args);
