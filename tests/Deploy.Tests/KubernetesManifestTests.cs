using System.Diagnostics;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using LlmMesh.TestSupport;

namespace LlmMesh.Deploy.Tests;

/// <summary>
/// deploy/kubernetes (model store on S3) and deploy/kubernetes-shared-volume (on a ReadWriteMany
/// volume) rendered offline by `kubectl kustomize` and parsed strictly into
/// KubernetesClient's typed models (an unknown or misspelt field fails), then checked for what a
/// cluster needs: replicas, probes, ports, resources, security contexts, no host paths.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly string[] GrpcServices = ["tokenizer", "encoder", "generator", "discriminator", "trainer"];

    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/PersistentVolumeClaim"] = typeof(V1PersistentVolumeClaim),
        ["v1/Service"] = typeof(V1Service),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["apps/v1/StatefulSet"] = typeof(V1StatefulSet),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["networking.k8s.io/v1/Ingress"] = typeof(V1Ingress),
        ["rabbitmq.com/v1beta1/RabbitmqCluster"] = typeof(RabbitmqCluster),
    };

    private const string OnS3 = "kubernetes";
    private const string OnSharedVolume = "kubernetes-shared-volume";
    private static readonly Dictionary<string, Lazy<IReadOnlyList<object>>> Rendered = new()
    {
        [OnS3] = new(() => Render(OnS3)),
        [OnSharedVolume] = new(() => Render(OnSharedVolume)),
    };

    [SkippableTheory]
    [InlineData(OnS3)]
    [InlineData(OnSharedVolume)]
    public void The_kustomization_renders_offline_and_every_object_parses_strictly(string variant)
    {
        var objects = Objects(variant);
        Assert.Equal(6, objects.OfType<V1Deployment>().Count() + objects.OfType<V1StatefulSet>().Count());
        Assert.All(objects.Cast<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace), o => Assert.Equal("llmmesh", o.Metadata.NamespaceProperty));
    }

    [SkippableFact]
    public void The_generator_scales_out_and_keeps_one_replica_through_disruptions()
    {
        var objects = Objects();
        var generator = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "generator");
        Assert.True(generator.Spec.Replicas >= 2);
        var autoscaler = objects.OfType<V2HorizontalPodAutoscaler>().Single();
        Assert.Equal(("Deployment", "generator"), (autoscaler.Spec.ScaleTargetRef.Kind, autoscaler.Spec.ScaleTargetRef.Name));
        Assert.True(autoscaler.Spec.MinReplicas >= 2 && autoscaler.Spec.MaxReplicas > autoscaler.Spec.MinReplicas);
        var budget = objects.OfType<V1PodDisruptionBudget>().Single();
        Assert.Equal("generator", budget.Spec.Selector.MatchLabels["app.kubernetes.io/name"]);
        Assert.Equal("1", budget.Spec.MinAvailable.Value);
    }

    [SkippableTheory]
    [InlineData(OnS3)]
    [InlineData(OnSharedVolume)]
    public void Every_workload_has_probes_resources_and_a_locked_down_non_root_container(string variant)
    {
        foreach (var (name, pod) in Workloads(Objects(variant)))
        {
            Assert.False(pod.Spec.AutomountServiceAccountToken, name);
            Assert.True(pod.Spec.SecurityContext.RunAsNonRoot, name);
            Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext.SeccompProfile.Type);
            var container = Assert.Single(pod.Spec.Containers);
            Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            foreach (var resource in new[] { "cpu", "memory" })
            {
                Assert.True(container.Resources.Requests.ContainsKey(resource), $"{name} requests {resource}");
                Assert.True(container.Resources.Limits.ContainsKey(resource), $"{name} limits {resource}");
                Assert.True(container.Resources.Requests[resource].ToDecimal() <= container.Resources.Limits[resource].ToDecimal(), $"{name} {resource}");
            }
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem, name);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation, name);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.Equal($"llmmesh/{name}:0.1.0", container.Image);
            // The API key and the broker's generated credentials come from Secrets, never from the manifests.
            Assert.Equal("llmmesh-api-key", container.Env.Single(e => e.Name == "LlmMesh__ApiKey").ValueFrom.SecretKeyRef.Name);
            Assert.DoesNotContain(container.Env, e => e.Name.Contains("PASSWORD", StringComparison.Ordinal) && e.Value is not null);
        }
    }

    [SkippableTheory]
    [InlineData(OnS3)]
    [InlineData(OnSharedVolume)]
    public void No_object_uses_the_host(string variant)
    {
        foreach (var (name, pod) in Workloads(Objects(variant)))
        {
            Assert.All(pod.Spec.Volumes ?? [], v => Assert.True(v.HostPath is null, $"{name} mounts the host path {v.HostPath?.Path}"));
            Assert.True(pod.Spec.HostNetwork is not true && pod.Spec.HostPID is not true, $"{name} shares the host's network or processes");
            Assert.All(pod.Spec.Containers.SelectMany(c => c.Ports ?? []), p => Assert.True(p.HostPort is null, $"{name} binds host port {p.HostPort}"));
        }
    }

    [SkippableFact]
    public void Each_grpc_service_is_headless_on_its_container_port()
    {
        var objects = Objects();
        var workloads = Workloads(objects).ToDictionary(w => w.Name, w => w.Pod);
        foreach (var name in GrpcServices)
        {
            var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == name);
            Assert.Equal("None", service.Spec.ClusterIP);
            var port = Assert.Single(service.Spec.Ports);
            var containerPort = workloads[name].Spec.Containers.Single().Ports.Single(p => p.Name == "grpc").ContainerPort;
            Assert.Equal(containerPort, port.Port);
            Assert.Equal(name, service.Spec.Selector["app.kubernetes.io/name"]);
        }
    }

    [SkippableFact]
    public void The_trainer_is_one_stateful_replica_with_its_volume_and_the_broker_a_three_node_cluster()
    {
        var objects = Objects();
        var trainer = objects.OfType<V1StatefulSet>().Single();
        Assert.Equal(("trainer", 1), (trainer.Metadata.Name, trainer.Spec.Replicas));
        var state = Assert.Single(trainer.Spec.VolumeClaimTemplates);
        Assert.Contains(trainer.Spec.Template.Spec.Containers.Single().VolumeMounts, m => m.Name == state.Metadata.Name);
        Assert.Equal(3, objects.OfType<RabbitmqCluster>().Single().Spec.Replicas);
        var ingress = objects.OfType<V1Ingress>().Single();
        Assert.Equal("gateway", ingress.Spec.Rules.Single().Http.Paths.Single().Backend.Service.Name);
    }

    [SkippableFact]
    public void The_model_store_is_a_bucket_and_each_pod_keeps_its_own_copy()
    {
        var objects = Objects();
        var mesh = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "llmmesh-mesh").Data;
        Assert.Equal("S3", mesh["ModelStore__Backend"]);
        Assert.Matches("^[a-z0-9][a-z0-9.-]+[a-z0-9]$", mesh["ModelStore__S3__Bucket"]);
        Assert.Empty(objects.OfType<V1PersistentVolumeClaim>());
        foreach (var (name, pod) in Workloads(objects).Where(w => w.Name != "gateway"))
        {
            var store = pod.Spec.Volumes.Single(v => v.Name == "model-store");
            Assert.True(store.EmptyDir is not null, $"{name}: the model store copy is not an emptyDir");
            var container = pod.Spec.Containers.Single();
            Assert.Contains(container.VolumeMounts, m => m.Name == "model-store" && m.MountPath == mesh["ModelStore__Path"]);
            foreach (var (variable, key) in new[] { ("ModelStore__S3__AccessKey", "access-key"), ("ModelStore__S3__SecretKey", "secret-key") })
            {
                var secret = container.Env.Single(e => e.Name == variable).ValueFrom.SecretKeyRef;
                Assert.Equal(("llmmesh-model-store", key), (secret.Name, secret.Key));
            }
        }
    }

    [SkippableFact]
    public void The_shared_volume_variant_mounts_one_ReadWriteMany_claim_in_every_pod()
    {
        var objects = Objects(OnSharedVolume);
        Assert.Equal("Disk", objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "llmmesh-mesh").Data["ModelStore__Backend"]);
        var claim = objects.OfType<V1PersistentVolumeClaim>().Single(c => c.Metadata.Name == "model-store");
        Assert.Equal(["ReadWriteMany"], claim.Spec.AccessModes);
        foreach (var (name, pod) in Workloads(objects).Where(w => w.Name != "gateway"))
        {
            var store = pod.Spec.Volumes.Single(v => v.Name == "model-store");
            Assert.True(store.EmptyDir is null && store.PersistentVolumeClaim?.ClaimName == "model-store", $"{name} does not mount the shared claim");
        }
    }

    private static IReadOnlyList<object> Objects(string variant = OnS3)
    {
        Skip.If(!KubectlInstalled(), "kubectl (with kustomize) is not installed");
        return Rendered[variant].Value;
    }

    private static IEnumerable<(string Name, V1PodTemplateSpec Pod)> Workloads(IReadOnlyList<object> objects) =>
        objects.OfType<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Template))
            .Concat(objects.OfType<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template)));

    private static bool KubectlInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(directory => File.Exists(Path.Combine(directory, "kubectl")));

    private static IReadOnlyList<object> Render(string variant)
    {
        using var kubectl = Process.Start(new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(RepositoryPaths.Root, "deploy", variant)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = kubectl.StandardOutput.ReadToEndAsync();
        var error = kubectl.StandardError.ReadToEnd();
        kubectl.WaitForExit();
        Assert.True(kubectl.ExitCode == 0, error);
        return KubernetesYaml.LoadAllFromString(output.Result, Kinds, strict: true);
    }
}

/// <summary>The RabbitMQ Cluster Operator's resource, as far as the manifests use it.</summary>
public sealed class RabbitmqCluster : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public RabbitmqClusterSpec Spec { get; set; } = new();
}

public sealed class RabbitmqClusterSpec
{
    [JsonPropertyName("replicas")]
    public int Replicas { get; set; }

    [JsonPropertyName("resources")]
    public V1ResourceRequirements Resources { get; set; } = new();

    [JsonPropertyName("persistence")]
    public RabbitmqPersistence Persistence { get; set; } = new();

    [JsonPropertyName("rabbitmq")]
    public RabbitmqConfig Rabbitmq { get; set; } = new();
}

public sealed class RabbitmqPersistence
{
    [JsonPropertyName("storage")]
    public string Storage { get; set; } = "";
}

public sealed class RabbitmqConfig
{
    [JsonPropertyName("additionalConfig")]
    public string AdditionalConfig { get; set; } = "";
}
