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
"""

from ._clock import FakeClock

__all__ = ["FakeClock"]
