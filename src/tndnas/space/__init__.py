"""What can be built: operations, op sets, genotypes, the supernet and the evaluation network.

This package imports nothing else of tndnas.
"""

from .genotype import (
    Genotype,
    GenotypeError,
    bundled_genotypes,
    derive_genotype,
    edge_pairs,
    genotype_from_dict,
    load_genotype,
)
from .macro import Macro, MacroError
from .network import EvalNetwork, count_flops, count_parameters
from .op_sets import op_set_names, register_op_set, resolve_op_set
from .ops import OpSpec, UnknownOpError, build_op, check_op_name, op_names, op_spec, register_op

__all__ = [
    "EvalNetwork",
    "Genotype",
    "GenotypeError",
    "Macro",
    "MacroError",
    "OpSpec",
    "UnknownOpError",
    "build_op",
    "bundled_genotypes",
    "check_op_name",
    "count_flops",
    "count_parameters",
    "derive_genotype",
    "edge_pairs",
    "genotype_from_dict",
    "load_genotype",
    "op_names",
    "op_set_names",
    "op_spec",
    "register_op",
    "register_op_set",
    "resolve_op_set",
]
