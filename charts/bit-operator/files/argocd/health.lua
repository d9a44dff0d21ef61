-- Argo CD health check for BiTFineTuneJob and BiTPretrainJob (resource.customizations.health.bit.training_BiTFineTuneJob
-- and ..._BiTPretrainJob in argocd-cm; docs/gitops.md). Lua 5.1, as Argo CD runs it: the object is the global `obj`.
--   Healthy     the job succeeded
--   Degraded    it failed, its spec is invalid, or the operator found it stalled (no progress for stallTimeout)
--   Suspended   spec.suspend stopped it
--   Progressing anything else: not yet seen by the operator, waiting for a pod, running, restarting
local hs = {}

local function condition(status, type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function said(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil then
    return c.reason
  end
  return fallback
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick the job up"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "The operator has not acted on generation " .. tostring(generation) .. " yet"
  return hs
end

local validated = condition(status, "Validated")
if validated ~= nil and validated.status == "False" then
  hs.status = "Degraded"
  hs.message = said(validated, "Invalid spec")
  return hs
end

if status.phase == "Succeeded" then
  hs.status = "Healthy"
  local top1 = status.result and status.result.top1
  if top1 ~= nil then
    hs.message = string.format("Succeeded: top-1 %.1f %%", top1 * 100)
  else
    hs.message = "Succeeded"
  end
  return hs
end

if status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = said(condition(status, "Failed"), "Failed")
  return hs
end

if status.phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = said(condition(status, "Suspended"), "Suspended")
  return hs
end

local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled, "No progress")
  return hs
end

hs.status = "Progressing"
local restarting = condition(status, "Restarting")
if restarting ~= nil and restarting.status == "True" then
  hs.message = said(restarting, "Restarting")
elseif status.phase == "Running" and status.progress ~= nil and status.progress.step ~= nil and status.progress.totalSteps ~= nil then
  hs.message = string.format("Running: step %d of %d", status.progress.step, status.progress.totalSteps)
else
  hs.message = said(condition(status, "Running"), status.phase)
end
return hs
