"""AFAT: the Automated Flexibility Aggregation Toolkit (seed 4.3.2): flexibility aggregation
(HLUC_04_UCS_01) and retail pricing (HLUC_04_UCS_02) engines."""
