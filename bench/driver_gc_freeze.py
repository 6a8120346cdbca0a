"""What gc.freeze() would save the Python driver: serve the same batch of
requests (bench/batch.ts) in this process, twice over, once as the driver
does today and once after gc.freeze() (start-up's objects moved out of the
collector's sight), and compare the CPU time and the replies.

    npx ts-node -T bench/batch.ts 2000 3.11 > /tmp/batch.jsonl
    python3 bench/driver_gc_freeze.py /tmp/batch.jsonl

Each mode runs in a fresh interpreter (this script re-runs itself), so one
mode's heap does not slow the other's collections.
"""
import gc
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import warnings

DRIVER = os.path.join(os.path.dirname(__file__), "..", "implementations", "python", "aiospec_driver.py")


def serve(batch, freeze):
    sys.argv = [DRIVER]
    spec = importlib.util.spec_from_file_location("aiospec_driver", DRIVER)
    driver = importlib.util.module_from_spec(spec)
    sys.modules["aiospec_driver"] = driver
    spec.loader.exec_module(driver)
    driver.configure([])
    driver.hello_line()
    warnings.simplefilter("ignore")
    if freeze:
        gc.collect()
        gc.freeze()
    lines = open(batch).read().splitlines()
    replies = hashlib.sha256()
    t0 = time.process_time()
    for line in lines * 2:
        replies.update(driver.serve_line(line).encode())
    return {"cpu_s": time.process_time() - t0, "requests": 2 * len(lines), "replies_sha256": replies.hexdigest()}


def main(argv):
    if len(argv) == 2 and argv[0] in ("plain", "freeze"):
        print(json.dumps(serve(argv[1], argv[0] == "freeze")))
        return 0
    if len(argv) != 1:
        print("usage: python3 bench/driver_gc_freeze.py BATCH.jsonl", file=sys.stderr)
        return 2
    results = {}
    for mode in ("plain", "freeze"):
        out = subprocess.run([sys.executable, __file__, mode, argv[0]], capture_output=True, text=True, check=True)
        results[mode] = json.loads(out.stdout)
    plain, frozen = results["plain"], results["freeze"]
    print("%d requests: %.2f s CPU as the driver runs today, %.2f s after gc.freeze() (%.1fx); replies %s" % (
        plain["requests"], plain["cpu_s"], frozen["cpu_s"], plain["cpu_s"] / frozen["cpu_s"],
        "identical" if plain["replies_sha256"] == frozen["replies_sha256"] else "DIFFER"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
