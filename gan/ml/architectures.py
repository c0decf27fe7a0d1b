"""Which generator and discriminator a row uses: the paper's (networks.py) for rows b-g, row h's parts
(conditional_generator.py, projected_discriminator.py) where its variant asks for them."""
from __future__ import annotations

from torch import nn

from .conditional_generator import ConditionalGenerator
from .networks import Discriminator, Generator, paper_initialisation
from .projected_discriminator import ProjectedDiscriminator
from .variants import ModelConfig, Variant


def build_generator(model_cfg: ModelConfig, variant: Variant) -> nn.Module:
    """The variant's generator: the paper's, or row h's upsample + conditional-BN one."""
    return ConditionalGenerator(model_cfg) if variant.generator == "upsample-cbn" else Generator(model_cfg)


def build_discriminator(model_cfg: ModelConfig, variant: Variant) -> nn.Module:
    if variant.discriminator == "projected":
        return ProjectedDiscriminator(model_cfg, variant)
    return Discriminator(model_cfg, variant)


def build_networks(model_cfg: ModelConfig, variant: Variant) -> tuple[nn.Module, nn.Module]:
    """A fresh (G, D) pair for one row; weights drawn from torch's global RNG (seed it first).
    The paper's networks get its N(0, 0.02) initialisation; row h's parts keep torch's defaults."""
    generator, discriminator = build_generator(model_cfg, variant), build_discriminator(model_cfg, variant)
    paper_initialisation(*(n for n in (generator, discriminator) if isinstance(n, (Generator, Discriminator))))
    return generator, discriminator
