using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.ComputeEnvironments;

public partial class CreateComputeEnvironment
{
    private bool _saving;
    private bool _submitted;

    [Inject]
    private ComputeEnvironmentService Environments { get; set; } = default!;

    [Inject]
    private IContainerRuntimeFactory Runtimes { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    internal FormErrors Errors { get; } = new();

    internal string Type { get; set; } = "MANAGED";

    internal string? Name { get; set; }

    internal string ServiceRole { get; set; } = "AWSBatchServiceRole";

    internal string InstanceRole { get; set; } = "ecsInstanceRole";

    internal string? KeyPair { get; set; }

    // The Docker host as the endpoint check last found it: its CPUs are what Max vCPUs is weighed against.
    private BatchPortal.Engine.Execution.HostInfo? _host;

    internal bool Enabled { get; set; } = true;

    internal string ProvisioningModel { get; set; } = "EC2";

    internal int? BidPercentage { get; set; }

    internal IReadOnlyCollection<string> InstanceTypes { get; set; } = ["optimal"];

    internal string? AllocationStrategy { get; set; }

    internal List<NameValue> Tags { get; } = [];

    internal int MinvCpus { get; set; }

    internal int DesiredvCpus { get; set; }

    internal int MaxvCpus { get; set; } = 256;

    internal int? UnmanagedvCpus { get; set; } = 8;

    internal string? DockerEndpoint { get; set; }

    private bool IsManaged => Type == "MANAGED";

    private string DefaultEndpoint => Runtimes.DefaultEndpoint;

    internal CreateComputeEnvironmentRequest ToRequest() => new()
    {
        ComputeEnvironmentName = Name?.Trim(),
        Type = Type,
        State = Enabled ? "ENABLED" : "DISABLED",
        ServiceRole = ServiceRole,
        UnmanagedvCpus = IsManaged ? null : UnmanagedvCpus,
        DockerEndpoint = DockerEndpoint,
        Tags = Tags.Count > 0 ? NameValue.ToDictionary(Tags) : null,
        ComputeResources = IsManaged
            ? new ComputeResources
            {
                Type = ProvisioningModel,
                MinvCpus = MinvCpus,
                DesiredvCpus = DesiredvCpus,
                MaxvCpus = MaxvCpus,
                BidPercentage = ProvisioningModel == "SPOT" ? BidPercentage : null,
                InstanceTypes = [.. InstanceTypes],
                AllocationStrategy = AllocationStrategy,
                InstanceRole = InstanceRole,
                Ec2KeyPair = string.IsNullOrWhiteSpace(KeyPair) ? null : KeyPair,
            }
            : null,
    };

    private void SetType(string type)
    {
        Type = type;
        Revalidate();
    }

    private void Revalidate()
    {
        if (_submitted)
        {
            Errors.Set(ComputeEnvironmentService.Validate(ToRequest()));
        }
    }

    private async Task CreateAsync()
    {
        _submitted = true;
        Revalidate();
        if (Errors.Any)
        {
            return;
        }

        _saving = true;
        try
        {
            var result = await Environments.CreateAsync(ToRequest(), await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
                return;
            }

            Snackbar.Add($"Compute environment {result.Value!.Name} created.", Severity.Success);
            Navigation.NavigateTo($"/compute-environments/{Uri.EscapeDataString(result.Value.Name)}");
        }
        finally
        {
            _saving = false;
        }
    }
}
