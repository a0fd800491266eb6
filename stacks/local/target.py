"""The `local` target: one host, supervisord-managed BentoML servers behind nginx.

Provisioning (daemon, servers, nginx) goes through the Pulumi engine. Traffic weights change
on a fast path, as a rollout controller would: nginx config re-rendered and gracefully
reloaded, then confirmed in effect; the same weights are the program's desired state, so the
next `pulumi up` agrees and `pulumi refresh` sees a hand edit.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from stacks import automation
from stacks.errors import StackError
from stacks.local import nginx
from stacks.local.config import Desired, LocalTargetConfig
from stacks.local.host import find_nginx
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    SlotState,
    TargetState,
    register_target,
    weights_total_100,
)

if TYPE_CHECKING:
    from pulumi import automation as auto


class LocalTarget:
    name = "local"

    def __init__(
        self, config: LocalTargetConfig, settings: automation.EngineSettings | None = None
    ) -> None:
        self.config = config
        self.settings = settings or automation.EngineSettings.local(config.state_dir / "pulumi")
        self.desired_path = config.base_dir / "desired.json"
        self.log: list[str] = []

    # --- reading ------------------------------------------------------------------------

    def desired(self) -> Desired:
        return Desired.load(self.desired_path)

    def state(self) -> TargetState:
        desired = self.desired()
        live = nginx.written(str(self.config.base_dir / "nginx"))
        weights = (live or {}).get("weights") or desired.weights
        slots = {
            Slot(slot): self._slot_state(Slot(slot), desired, int(weights.get(slot, 0)))
            for slot in desired.slots
        }
        endpoint = f"http://127.0.0.1:{self.config.listen_port}" if slots else None
        return TargetState(endpoint=endpoint, slots=slots)

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        url = f"http://127.0.0.1:{self.config.slot_port(slot.value)}"
        return SlotState(
            slot,
            Release(release["bento"], release["model"]),
            url,
            f"{url}/metrics",
            weight,
            str(self.config.prediction_log_dir / slot.value),
        )

    # --- changing -----------------------------------------------------------------------

    def deploy(self, slot: Slot, release: Release) -> SlotState:
        desired = self.desired()
        desired.slots[slot.value] = {"bento": release.bento, "model": release.model}
        if not any(desired.weights.get(s, 0) for s in desired.slots):
            desired.weights = {slot.value: 100}
        desired.weights.setdefault(slot.value, 0)
        self._up(desired)
        return self._slot_state(slot, desired, desired.weights[slot.value])

    def set_weights(self, weights: dict[Slot, int]) -> None:
        weights_total_100(weights)
        desired = self.desired()
        missing = [s.value for s, w in weights.items() if w and s.value not in desired.slots]
        if missing:
            raise StackError(f"cannot send traffic to {', '.join(missing)}: no release runs there")
        desired.weights = {s: int(weights.get(Slot(s), 0)) for s in desired.slots}
        prefix = str(self.config.base_dir / "nginx")
        upstreams = {
            s: {"port": self.config.slot_port(s), "weight": w} for s, w in desired.weights.items()
        }
        nginx_bin = str(find_nginx().path)
        text = nginx.render(prefix, self.config.listen_port, upstreams, self.config.max_body)
        nginx.write(prefix, text, nginx_bin)
        retiring = nginx.reload(prefix, nginx_bin)
        nginx.wait_for(
            self.config.listen_port,
            nginx.digest(self.config.listen_port, upstreams, self.config.max_body),
            retiring=retiring,
        )
        desired.save(self.desired_path)

    def promote(self) -> SlotState:
        desired = self.desired()
        canary = desired.slots.get(Slot.CANARY.value)
        if canary is None:
            raise StackError("nothing to promote: no release runs in the canary slot")
        self.set_weights({Slot.CANARY: 100, Slot.STABLE: 0})
        self.deploy(Slot.STABLE, Release(canary["bento"], canary["model"]))
        self.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
        self.teardown(Slot.CANARY)
        return self.state().slots[Slot.STABLE]

    def teardown(self, slot: Slot) -> None:
        desired = self.desired()
        if slot.value not in desired.slots:
            return
        if desired.weights.get(slot.value, 0):
            raise StackError(
                f"{slot.value} still has {desired.weights[slot.value]}% of traffic; "
                "move it first (set_weights)"
            )
        del desired.slots[slot.value]
        desired.weights.pop(slot.value, None)
        self._up(desired)

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        desired = self.desired()
        desired.slots[slot.value] = {"bento": release.bento, "model": release.model}
        desired.weights.setdefault(slot.value, 0 if desired.weights else 100)
        st = self._stack(desired)
        return automation.preview(st, self.config.project, self.config.stack)

    def destroy(self) -> None:
        st = self._stack(Desired())
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.destroy()
            st.workspace.remove_stack(self.config.stack)
        shutil.rmtree(self.config.base_dir, ignore_errors=True)

    # --- engine -------------------------------------------------------------------------

    def _stack(self, desired: Desired) -> auto.Stack:
        from stacks.local.program import program

        config = self.config
        return automation.stack(
            self.settings, config.project, config.stack, lambda: program(config, desired)
        )

    def _up(self, desired: Desired) -> None:
        st = self._stack(desired)
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.up()
        desired.save(self.desired_path)


register_target("local", LocalTarget)
