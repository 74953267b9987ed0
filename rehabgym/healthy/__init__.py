"""The healthy, pre-stroke cortex: its pre-training, the shipped checkpoint, the criteria it
meets, and a model-based reaching demo without any network."""
