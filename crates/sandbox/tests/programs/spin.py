# An infinite loop: only the wall-clock timeout ends it.
print("spinning", flush=True)
while True:
    pass
