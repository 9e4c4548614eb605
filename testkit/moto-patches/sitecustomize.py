"""Fixes to moto's CloudFormation change sets (moto 5.2.5), loaded by Python
at start-up because the testkit's moto launcher puts this directory on
PYTHONPATH. Real CloudFormation resolves `Fn::ImportValue` in stacks created
through change sets and, when a change set executes, gives the stack the
change set's parameters and template outputs (and so its exports); moto does
neither, so without these fixes every stack deployed through a change set
has no outputs and cannot import another's. moto also skips many resource
types inside stacks (Cognito, CloudFront, ...): a resource it fails to model
(an EC2 instance from a launch template) is skipped the same way here, and an
attribute or output that refers to one gets a placeholder value instead of
failing the stack. Deleting a stack whose resources moto cannot all delete
(it leaves some that others in the account depend on, e.g. a VPC's) deletes
the stack as CloudFormation would once those are gone.
And Route 53 hosted zone ids start with Z, as AWS's do.
Termination protection: UpdateTerminationProtection sets it and DeleteStack
refuses a protected stack, as CloudFormation does (moto has neither). A
change set's Modify is reported with Replacement "Conditional", which is what
CloudFormation answers when it cannot tell in advance; moto never can."""

from moto.cloudformation import models as _cloudformation
from moto.cloudformation import parsing as _parsing
from moto.cloudformation import responses as _cloudformation_responses
from moto.cloudformation.exceptions import ValidationError as _ValidationError
from moto.core.responses import ActionResult as _ActionResult
from moto.route53 import models as _route53

_create_change_set = _cloudformation.CloudFormationBackend.create_change_set
_execute_change_set = _cloudformation.CloudFormationBackend.execute_change_set


def _create_change_set_with_exports(self, *args, **kwargs):
    change_set_id, stack_id = _create_change_set(self, *args, **kwargs)
    stack = self.stacks[stack_id]
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


def _execute_change_set_with_outputs(self, change_set_name, stack_name=None):
    _execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        c for c in self.change_sets.values() if c.change_set_name == change_set_name
    )
    stack = self.stacks[change_set.stack_id]
    stack.parameters = change_set.parameters
    stack._parse_template()
    # Deletion policies too (moto keeps the ones of the first template).
    stack.resource_map._resource_json_map = stack.template_dict.get("Resources", {})
    stack.output_map = stack._create_output_map()
    for export in stack.exports:
        self.exports[export.name] = export


_cloudformation.CloudFormationBackend.create_change_set = _create_change_set_with_exports
_cloudformation.CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs


def _placeholder(key):
    return f"moto-unsupported-{key}"


def _resolved(key, resolve):
    try:
        value = resolve()
    except Exception:  # a reference to a resource type moto skipped
        return _placeholder(key)
    return value if isinstance(value, str) else _placeholder(key)


_clean_json = _parsing.clean_json


def _clean_json_with_placeholders(resource_json, resources_map):
    if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
        target = resource_json["Fn::GetAtt"]
        name = "-".join(map(str, target)) if isinstance(target, list) else str(target)
        return _resolved(name, lambda: _clean_json(resource_json, resources_map))
    return _clean_json(resource_json, resources_map)


_parse_and_create_resource = _parsing.parse_and_create_resource


def _parse_and_create_resource_or_skip(*args, **kwargs):
    try:
        return _parse_and_create_resource(*args, **kwargs)
    except KeyError:  # a property moto requires that the template sets elsewhere
        return None


_parse_output = _parsing.parse_output


def _parse_output_or_placeholder(output_logical_id, output_json, resources_map):
    try:
        output = _parse_output(output_logical_id, output_json, resources_map)
    except Exception:
        output = None
    if output is None or not isinstance(output.value, str):
        return _parsing.Output(
            output_logical_id,
            _placeholder(output_logical_id),
            output_json.get("Description", ""),
        )
    return output


def _exports_or_placeholders(self):
    exports = []
    for key, value in (self._output_json_map or {}).items():
        if value.get("Export"):
            name = _resolved(key, lambda: _parsing.clean_json(value["Export"].get("Name"), self._resource_map))
            exported = _resolved(key, lambda: _parsing.clean_json(value.get("Value"), self._resource_map))
            exports.append(_parsing.Export(self._stack_id, name, exported))
    return exports


_parsing.parse_and_create_resource = _parse_and_create_resource_or_skip
_parsing.clean_json = _clean_json_with_placeholders
_parsing.parse_output = _parse_output_or_placeholder
_parsing.OutputMap.exports = property(_exports_or_placeholders)


_zone_id = _route53.create_route53_zone_id
_route53.create_route53_zone_id = lambda *args, **kwargs: "Z" + _zone_id(*args, **kwargs)[1:]


_delete_resources = _parsing.ResourceMap.delete


def _delete_resources_leaving_what_moto_cannot(self):
    try:
        _delete_resources(self)
    except Exception:
        pass


_parsing.ResourceMap.delete = _delete_resources_leaving_what_moto_cannot


def _update_termination_protection(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    enable = self._get_param("EnableTerminationProtection")
    stack.enable_termination_protection = enable in (True, "true", "True")
    return _ActionResult({"StackId": stack.stack_id})


_cloudformation_responses.CloudFormationResponse.update_termination_protection = (
    _update_termination_protection
)

_delete_stack = _cloudformation.CloudFormationBackend.delete_stack


def _delete_stack_unless_protected(self, name_or_stack_id):
    for stack in self.stacks.values():
        if name_or_stack_id in (stack.name, stack.stack_id) and stack.enable_termination_protection:
            raise _ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
    return _delete_stack(self, name_or_stack_id)


_cloudformation.CloudFormationBackend.delete_stack = _delete_stack_unless_protected

_change_init = _cloudformation.Change.__init__


def _change_with_replacement(self, action, logical_resource_id, resource_type):
    _change_init(self, action, logical_resource_id, resource_type)
    if action == "Modify":
        self.replacement = "Conditional"


_cloudformation.Change.__init__ = _change_with_replacement


# SQS at scale (moto 5.2.5). Every send and every received message makes
# moto recount the queue (its ApproximateNumberOf* attributes, once more per
# message for the retention check), and each message of each count asks the
# clock through datetime arithmetic: ten thousand waiting messages made one
# receive take seconds and a 10,000-letter redrive hours. The same
# comparisons, against time.time(), and the retention period read directly.
import time as _time

from moto.sqs import models as _sqs

_sqs.Message.visible = property(lambda message: _time.time() * 1000 > message.visible_at)
_sqs.Message.delayed = property(lambda message: _time.time() * 1000 < message.delayed_until)


def _retained(self, queue_name, message):
    queue = self.get_queue(queue_name)
    return queue.message_retention_period + message.sent_timestamp / 1000 > _time.time()


_sqs.SQSBackend.is_message_valid_based_on_retention_period = _retained
