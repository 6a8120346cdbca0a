"""try / except* for the aiospec driver (Python 3.11 and later only).

`except*` is a SyntaxError before Python 3.11, so it lives here, apart from
aiospec_driver.py, which imports this module only on 3.11+ (by its path,
from the directory of aiospec_driver.py). Nothing here is specific to a
scenario: the clause types are computed by the driver, handler bodies are
run by its interpreter.
"""


async def try_star(run, s, handlers, types, is_return):
    """try / except* / finally, with Python's own except* machinery.

    `types` holds exactly three exception classes: the handlers' own, then
    classes that are never raised for the clauses a scenario does not use.
    `run.star_handler(handler, eg)` runs a handler body and says whether the
    clause re-raises (a bare `raise`, here in the clause itself).
    `is_return(value)` says whether a step list ended with a `return`.
    """
    result = None
    try:
        try:
            result = await run.steps(s.get("body", []))
        except* types[0] as eg:
            if await run.star_handler(handlers[0], eg):
                raise
        except* types[1] as eg:
            if await run.star_handler(handlers[1], eg):
                raise
        except* types[2] as eg:
            if await run.star_handler(handlers[2], eg):
                raise
    except BaseException:
        # The scenario's finally body, on the way out of an exception (not
        # `finally:`, where a `return` is a SyntaxWarning from 3.14 on).
        final = await run.steps(s.get("finally", []))
        if is_return(final):
            return final
        raise
    final = await run.steps(s.get("finally", []))
    if is_return(final):
        return final
    return result
