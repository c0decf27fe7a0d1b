"""The quick preset shrunk for tests (two Table 2 features, rows f and g, 4 iterations of a width-8
network, three Inception Score splits): what the suite's launch and job tests ask for."""

TINY = dict(preset="quick", features=["mfcc", "fbank"], variants=["f", "g"], table4_feature="mfcc",
            metrics=["inception_score", "class_consistency"], splits=3,
            model={"g_width": 8, "d_width": 8, "z_dim": 4},
            train={"iterations": 4, "batch_size": 8, "checkpoint_every": 4, "sample_every": 4, "log_every": 2})
