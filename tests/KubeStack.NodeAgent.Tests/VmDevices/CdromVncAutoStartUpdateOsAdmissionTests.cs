using System.Text.Json.Nodes;
using KubeStack.Contracts.Validation;

namespace KubeStack.NodeAgent.Tests.VmDevices;

/// <summary>
/// Admission (the validating webhook's RequestValidator) of manageISO, insertISO, ejectISO, setVncPassword,
/// unsetVncPassword, updateGraphic, autoStartVM and updateOS: a documented request passes; a bad parameter is refused
/// naming the field and the rule, before the agent sees it; a refused password is never echoed.
/// </summary>
public class CdromVncAutoStartUpdateOsAdmissionTests
{
    private static IReadOnlyList<ValidationError> Check(string key, JsonObject parameters) =>
        RequestValidator.Validate("VirtualMachine", "vm-0001", new JsonObject { ["lifecycle"] = new JsonObject { [key] = parameters } });

    public static TheoryData<string, string> ValidRequests => new()
    {
        { "manageISO", """{"path":"hdc","source":"/var/lib/libvirt/iso/lab.iso","eject":false,"insert":true,"update":false,"force":false,"block":false,"live":true,"config":true}""" },
        { "insertISO", """{"path":"/var/lib/libvirt/iso/lab.iso","insert":true,"force":false,"block":false}""" },
        { "ejectISO", """{"path":"/var/lib/libvirt/iso/lab.iso","eject":true,"force":true,"block":false,"current":true}""" },
        { "setVncPassword", """{"password":"abcd-1234","live":true,"persistent":true}""" },
        { "unsetVncPassword", """{"config":true}""" },
        { "updateGraphic", """{"type":"spice","password":"abcdefg"}""" },
        { "autoStartVM", """{"disable":true}""" },
        { "autoStartVM", "{}" },
        { "updateOS", """{"source":"/var/lib/libvirt/images/vm1.qcow2","target":"/var/lib/libvirt/images/centos-template.qcow2"}""" },
    };

    public static TheoryData<string, string, string, string> InvalidRequests => new()
    {
        // operation, parameters, field, rule id
        { "manageISO", """{"path":"xda","source":"/var/lib/libvirt/iso/lab.iso","eject":false,"insert":true,"update":false,"force":false,"block":false}""", "path", RuleIds.Pattern },
        { "manageISO", """{"path":"hdc","source":"/etc/lab-secret.iso","eject":false,"insert":true,"update":false,"force":false,"block":false}""", "source", "path" },
        { "manageISO", """{"path":"hdc","source":"/var/lib/libvirt/iso/lab.iso","eject":true,"insert":true,"update":false,"force":false,"block":false}""", "eject", RuleIds.Exclusive },
        { "manageISO", """{"path":"hdc","source":"/var/lib/libvirt/iso/lab.iso","insert":true,"update":false,"force":false,"block":false}""", "eject", RuleIds.Required },
        { "insertISO", """{"path":"/var/lib/libvirt/../../etc/x.iso","insert":true,"force":false,"block":false}""", "path", "path" },
        { "insertISO", """{"path":"/var/lib/libvirt/iso/lab.iso","insert":"yes","force":false,"block":false}""", "insert", RuleIds.Type },
        { "ejectISO", """{"path":"/var/lib/libvirt/iso/lab.iso","eject":true,"force":false,"block":false,"current":true,"live":true}""", "current", RuleIds.Exclusive },
        { "setVncPassword", """{"password":"abc"}""", "password", RuleIds.MinLength },
        { "setVncPassword", """{"password":"Secret_Pass"}""", "password", RuleIds.Pattern },
        { "updateGraphic", """{"type":"rdp"}""", "type", RuleIds.Enum },
        { "updateGraphic", """{"type":"vnc","password":"abcdefg","no_password":true}""", "no_password", RuleIds.Exclusive },
        { "autoStartVM", """{"disable":"sometimes"}""", "disable", RuleIds.Type },
        { "updateOS", """{"source":"/root/images/vm1-disk.qcow2","target":"/var/lib/libvirt/images/t.qcow2"}""", "source", "path" },
        { "updateOS", """{"source":"/var/lib/libvirt/images/vm1.qcow2"}""", "target", RuleIds.Required },
    };

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Documented_request_is_admitted(string key, string parameters) =>
        Assert.Empty(Check(key, (JsonObject)JsonNode.Parse(parameters)!));

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public void Bad_parameter_is_refused_at_admission_naming_the_field_and_rule(string key, string parameters, string field, string rule)
    {
        var errors = Check(key, (JsonObject)JsonNode.Parse(parameters)!);
        Assert.Contains(errors, e => e.Field == $"spec.lifecycle.{key}.{field}" && e.Rule == rule);
    }

    [Fact]
    public void Refused_vnc_password_is_not_echoed()
    {
        var errors = Check("setVncPassword", new JsonObject { ["password"] = "Secret_Pass" });
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.DoesNotContain("Secret_Pass", e.Message, StringComparison.Ordinal));
    }
}
