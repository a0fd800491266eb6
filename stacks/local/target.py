"""The `local` target: one host, supervisord-managed BentoML servers behind nginx.

Provisioning (daemon, servers, nginx) goes through the Pulumi engine. Traffic weights change
on a fast path, as a rollout controller would: nginx config re-rendered and gracefully
reloaded, then confirmed in effect; the same weights are the program's desired state, so the
next `pulumi up` agrees and `pulumi refresh` sees a hand edit.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from stacks.desired import Desired
from stacks.engine import automation
from stacks.local import nginx
from stacks.local.config import LocalTargetConfig, local_config
from stacks.local.host import find_nginx
from stacks.reach.http import HttpClient, MetricsEndpoint
from stacks.slot_moves import SlotMoves
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    SlotState,
    TargetKind,
    TargetState,
)

if TYPE_CHECKING:
    from pulumi import automation as auto


class LocalTarget(SlotMoves):
    name = "local"

    def __init__(
        self, config: LocalTargetConfig, settings: automation.EngineSettings | None = None
    ) -> None:
        self.config = config
        self._settings = settings
        self.desired_path = config.base_dir / "desired.json"
        self.log: list[str] = []

    @property
    def settings(self) -> automation.EngineSettings:
        """The engine's settings, made when first provisioning (reading state needs none)."""
        if self._settings is None:
            self._settings = automation.EngineSettings.local(self.config.state_dir / "pulumi")
        return self._settings

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

    def slot_client(self, slot: Slot | None) -> HttpClient:
        """nginx for the endpoint; the slot's own server for a slot."""
        if slot is None:
            return HttpClient(f"http://127.0.0.1:{self.config.listen_port}")
        return HttpClient(f"http://127.0.0.1:{self.config.slot_port(slot.value)}")

    def metrics(self, slot: Slot) -> MetricsEndpoint:
        return MetricsEndpoint(f"http://127.0.0.1:{self.config.slot_port(slot.value)}/metrics")

    # --- changing -----------------------------------------------------------------------

    def set_weights(self, weights: dict[Slot, int]) -> None:
        desired = self._with_weights(weights)
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

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        st = self._stack(desired)
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.up(refresh=refresh)
        desired.save(self.desired_path)


KIND = TargetKind("local", local_config, LocalTarget)
