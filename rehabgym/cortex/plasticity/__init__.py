"""Plasticity rules: local to the synapse plus a global signal, no gradients through physics.

Each rule can be switched off on its own (`PlasticityConfig`) for ablations:
- `reward`: reward-modulated node perturbation (Fiete & Seung 2006; Legenstein et al. 2010);
- `success`: the reward rule reinforces soft success around a threshold score, not the raw
  outcome, so practice far too hard or too easy teaches little (Guadagnoli & Lee 2004;
  Han et al. 2008);
- `homeostasis`: slow synaptic scaling toward each neuron's healthy rate (Turrigiano) and,
  off by default, of each muscle's corticospinal inputs toward their healthy total;
- `structural`: sprouting among survivors, strongest near the lesion, and pruning of weak
  synapses (Butz & van Ooyen); premotor neurons whose axons lost targets in the lesion grow
  their corticospinal terminals, more the more they lost (Dancause 2005; Frost 2003); and,
  off by default, growth of surviving terminals onto muscles that lost their cortical drive;
- `window`: heightened plasticity after the stroke that decays over weeks (Murphy & Corbett);
- `diaschisis`: survivors that lost input to the infarct start depressed and recover
  spontaneously over weeks (Feeney & Baron 1986; Carrera & Tononi 2014).
"""

from rehabgym.cortex.plasticity.config import RULES, PlasticityConfig
from rehabgym.cortex.plasticity.diaschisis import acute_depression, resolve, scale_outputs
from rehabgym.cortex.plasticity.homeostasis import homeostatic_scaling, spinal_scaling
from rehabgym.cortex.plasticity.reward import reinforcement, reward_update
from rehabgym.cortex.plasticity.structural import (
    axonal_sprouting,
    corticospinal_sprouting,
    lost_targets,
    prune,
    sprout,
)
from rehabgym.cortex.plasticity.window import window_gain

__all__ = ["RULES", "PlasticityConfig", "acute_depression", "axonal_sprouting",
           "corticospinal_sprouting", "homeostatic_scaling", "lost_targets", "prune",
           "reinforcement", "resolve", "reward_update", "scale_outputs", "spinal_scaling", "sprout",
           "window_gain"]
