def greet(x):
    return "hi " + x
