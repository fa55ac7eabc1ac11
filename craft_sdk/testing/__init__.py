"""Helpers for testing code that uses craft-sdk.

`FakeClock` makes retries, backoff and rate-limit waits take no real time:

```python
from craft_sdk import CraftClient
from craft_sdk.testing import FakeClock

clock = FakeClock()
client = CraftClient(api_key="sk_test", clock=clock)
...
assert clock.sleeps == [0.5]      # what the client waited, in order
```

`CraftEmulator` is the whole Craft API in memory: projects, files, deployments that build as the
clock passes, OAuth tokens, the reference's rate-limit tiers, signed webhooks (to callbacks or
POSTed to a URL), and injected failures:

```python
from craft_sdk.testing import CraftEmulator

emu = CraftEmulator(tier="free")          # or rate_limit=N; by default 10,000 a minute
with emu.client() as client:              # no sockets; shares the emulator's FakeClock
    project = client.projects.create(name="Demo", template="landing-page")
    emu.fail_next(status=503, method="GET")   # the next GET fails once (and is retried)
    assert client.projects.get(project.id).name == "Demo"

with emu.serve() as server:                # the same emulator over a real socket
    print(server.url)                      # http://127.0.0.1:<port>/v1
```

From a shell, `python -m craft_sdk.testing --port 8787` serves one on the real clock, steered by
flags and by its control endpoint under `/_emulator` (see `docs/testing.md`). The pytest plugin
(installed with the package) adds the fixtures `craft_emulator`, `craft_client`
and `async_craft_client`.
"""

from .._clock import SystemClock
from ._clock import FakeClock
from ._delivery import Delivery
from ._emulator import CraftEmulator
from ._server import EmulatorServer

__all__ = ["CraftEmulator", "Delivery", "EmulatorServer", "FakeClock", "SystemClock"]
